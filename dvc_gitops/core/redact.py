"""Secrets out of everything we print: URL credentials masked, control characters escaped.

`redact` is the one masking function: every message that names a URL (a remote's url, a
tracking URI, a server's error text) goes through it. It works on a bare URL and on free
text holding URLs, and it never parses with `urllib.parse` (which raises on
`https://u:p@[::1/dvc`): a broken URL is masked too, never echoed because it failed to parse.

`printable` makes text from a file or a server safe for a terminal: control characters
(ESC, CR, BEL, C1, bidi overrides) become visible escapes instead of being obeyed.
"""

from __future__ import annotations

import re

MASK = "***"

# Query parameters whose values are credentials: tokens, signatures of pre-signed URLs
# (S3 X-Amz-*, GCS X-Goog-*, Azure SAS `sig`), passwords and API keys.
SECRET_PARAMETERS = frozenset(
    {
        "token",
        "access_token",
        "auth_token",
        "id_token",
        "refresh_token",
        "private_token",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "client_secret",
        "api_key",
        "apikey",
        "key",
        "sas",
        "sas_token",
        "code",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "awsaccesskeyid",
    }
)

# Schemes whose user-only userinfo is a login name, not a credential (`ssh://git@host`).
_LOGIN_SCHEMES = frozenset({"ssh", "sftp", "git+ssh", "ssh+git", "scp", "hdfs", "webhdfs"})

# A URL inside free text: a scheme, `://`, an authority up to white space or the path (a
# quote may be part of a password), then a path up to white space or a quote.
_URL = re.compile(r"(?<![\w+.-])([A-Za-z][A-Za-z0-9+.-]*)://([^\s/?#]*(?:[/?#][^\s'\"<>`]*)?)")
_QUERY_PAIR = re.compile(r"([^&;=#]*)(=)([^&;#]*)")


def redact(text: str) -> str:
    """`text` with every URL's credentials masked: its user info becomes `***@` (a login
    name alone is kept for ssh-like schemes: `ssh://git@host`), and the value of a secret
    query parameter `***` (`?token=***`)."""
    if "://" not in text:
        return text
    return _URL.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    return f"{scheme}://{_redact_rest(scheme.lower(), rest)}"


def _redact_rest(scheme: str, rest: str) -> str:
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        if userinfo and (":" in userinfo or scheme not in _LOGIN_SCHEMES):
            # All of it: `https://TOKEN@host` has no password, and an s3 URL's "user" is
            # the access key id.
            authority = f"{MASK}@{host}"
    return authority + _redact_query(tail)


def _redact_query(tail: str) -> str:
    path, mark, query = tail.partition("?")
    if not mark:
        return tail
    query, hash_mark, fragment = query.partition("#")

    def pair(match: re.Match[str]) -> str:
        if _is_secret_parameter(match.group(1)):
            return f"{match.group(1)}={MASK}"
        return match.group(0)

    return f"{path}?{_QUERY_PAIR.sub(pair, query)}{hash_mark}{fragment}"


def _is_secret_parameter(name: str) -> bool:
    from urllib.parse import unquote

    return unquote(name).strip().lower() in SECRET_PARAMETERS


def without_secrets(url: str) -> str:
    """`url` with its user info and secret query parameters removed: what may be tracked."""
    match = _URL.search(url)
    if match is None:
        return url
    scheme, rest = match.group(1), match.group(2)
    end = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    host = authority.rpartition("@")[2]
    path, mark, query = tail.partition("?")
    if mark:
        query, hash_mark, fragment = query.partition("#")
        kept = [p for p in query.split("&") if p and not _is_secret_parameter(p.split("=")[0])]
        tail = path + ("?" + "&".join(kept) if kept else "") + hash_mark + fragment
    return url[: match.start()] + f"{scheme}://{host}{tail}" + url[match.end() :]


def secrets_in_url(url: str) -> list[str]:
    """What in `url` is a credential, in words ("a password", "a token", "the query
    parameter 'sig'"); empty when nothing is. Never raises, whatever the URL."""
    found: list[str] = []
    match = _URL.search(url)
    if match is None:
        return found
    scheme, rest = match.group(1).lower(), match.group(2)
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        user, colon, password = userinfo.partition(":")
        if colon and password:
            found.append("a password")
        elif not colon and user and scheme not in _LOGIN_SCHEMES:
            found.append("a token (user info without a password)")
    _, mark, query = rest.partition("?")
    if mark:
        for name, _, value in _QUERY_PAIR.findall(query.partition("#")[0]):
            if value and _is_secret_parameter(name):
                found.append(f"the query parameter '{name}'")
    return found


# C0 controls, DEL, C1 controls, and the Unicode bidi/format characters that reorder or
# hide text on a terminal (Trojan Source).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def printable(text: str, keep_tabs: bool = True) -> str:
    """`text` with control characters shown as escapes (`\\x1b`, `\\r`, `\\u202e`), so a
    file or a server can never move the cursor, recolour, or hide a line."""

    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        if char == "\t" and keep_tabs:
            return char
        escaped = repr(char)[1:-1]
        if escaped == char:  # repr shows some format characters as themselves
            escaped = f"\\u{ord(char):04x}"
        return escaped

    return _CONTROL.sub(escape, text)


def excerpt(data: bytes | str, limit: int = 200) -> str:
    """At most `limit` characters of a server's or a file's text: one line, escaped,
    credentials masked; `...` marks a cut."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    cut = len(text) > limit
    text = printable(redact(text[:limit]))
    return text + ("..." if cut else "")


def safe(text: str) -> str:
    """Both at once: credentials masked and control characters escaped (for messages)."""
    return printable(redact(text))
