"""Every kind of secret the redactor knows, each planted in a line that carries it: the
one list that the redaction tests, unit and end to end, plant and then look for."""

from __future__ import annotations

# (kind it is redacted as, the secret, a line that carries it)
SECRETS: list[tuple[str, str, str]] = [
    ("github", "ghp_R7tYb2Kq9LmN4pX8sV1wZ3cD5fG7hJ0kM2nQ", "git clone https://{}@github.com/o/r"),
    ("github", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "gh auth status shows {}"),
    (
        "github",
        "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuvw",
        "token {} accepted",
    ),
    ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id = {}"),
    ("aws_access_key_id", "ASIAY34FZKBOKMUTVV7A", "assumed role with key {}"),
    (
        "aws_secret_access_key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key={}",
    ),
    ("openai", "sk-proj-Xy7Qm2Lk9Pz4Rw8Tn1Vb6Hc3Jd5Fg0Sa7Ue2Io4", "export OPENAI_API_KEY={}"),
    (
        "anthropic",
        "sk-ant-api03-Zq8Wx1Ce5Rv9Tb3Ny7Um2Ki6Ol0Pj4Hg8Fd2Sa6Qw0Er4Ty8Ui2Op6As0Df4Gh8Jk",
        "curl -H 'x-api-key: {}' https://api.anthropic.com/v1/messages",
    ),
    ("slack", "xoxb-2048207398-4820173945102-Qw3Er5Ty7Ui9Op1As3Df5Gh7", "SLACK={} ./notify"),
    ("stripe", "sk_live_51HxYz2KqLmN4pX8sV1wZ3cD5fG7hJ0k", "stripe charges list --api-key {}"),
    ("google_api_key", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "maps?key={}&q=x"),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "session cookie {}",
    ),
    (
        "private_key",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw",
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n7FQ2bWmBHGk2S6Wd\n-----END RSA PRIVATE KEY-----",
    ),
    ("authorization", "a8Kd93LmQz71XcVb0Pw4", "curl -H 'Authorization: Bearer {}' https://x"),
    ("authorization", "YWRtaW46aHVudGVyMg==", "Authorization: Basic {}"),
    ("url_password", "Tr0ub4dor&3x", "psql postgres://admin:{}@db.internal:5432/app"),
    ("password", "hunter2hunter2", "mysql -u root --password={} -e 'select 1'"),
    ("password", "P@ssw0rd-Prod!", "connect server=db;user=sa;pwd={};"),
    ("secret", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "token: {}"),
    ("secret", "Zx9kLm2Qp8Rt5Vw3Yb7N", "SECRET={}"),
    ("secret", "q1W2e3R4t5Y6u7I8o9P0", "vault login --token {}"),
    ("secret", "AbC123dEf456GhI789jKl", "api_key={}"),
]
# `name=value` pairs whose name says "password" in short, and secret-named assignments.
PAIRS: list[tuple[str, str, str]] = [
    ("password", "hunter2", "mysql --host db password=hunter2 -e 'select 1'"),
    ("password", "Sup3rS3cr3t", "db_pass=Sup3rS3cr3t ./migrate"),
    ("password", "letmein99", "DB_PASS: letmein99"),
    ("secret", "plainvalue42", "export DEPLOY_API_TOKEN=plainvalue42"),
    ("env", "aaaa1111", "export GITLAB_TOKEN=aaaa1111 && glab auth status"),
    ("env", "quoted value 7", 'export WEBHOOK_SECRET="quoted value 7"'),
]
