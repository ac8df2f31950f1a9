// The page is built into the Python package, where `cairn serve` finds it.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../src/cairn/server/webui",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // One module per entry: no inline scripts (the page's CSP forbids them).
    modulePreload: { polyfill: false },
    // CodeMirror and xterm.js make one ~700 kB module, served from the local disk.
    chunkSizeWarningLimit: 1500,
  },
});
