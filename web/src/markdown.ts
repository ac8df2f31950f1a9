// Markdown cells as HTML that can run nothing: raw HTML in a runbook is shown as text
// (markdown-it with `html: false` escapes it), and markdown-it's link check drops
// `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs. The page's
// Content-Security-Policy forbids inline scripts besides.
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

const defaultLink =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));

md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // Links leave the page in a new tab, without access to it.
  tokens[idx].attrSet("target", "_blank");
  tokens[idx].attrSet("rel", "noopener noreferrer");
  return defaultLink(tokens, idx, options, env, self);
};

export function renderMarkdown(source: string): string {
  return md.render(source);
}
