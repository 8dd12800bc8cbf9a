"""A small cookie-keeping HTTP client for the sign-in tests: the part of a browser that the
relay's sign-in pages and an OpenID Provider's login form need (GET, form POST, Set-Cookie,
redirects followed one at a time so a test can look at each hop), over real TLS to 127.0.0.1
with the URL's host as SNI and Host, so no name resolution is involved."""

import html.parser
import socket
import ssl
import urllib.parse

from harness import HttpResponse, client_context


class Form(html.parser.HTMLParser):
    """The first <form> of a page: its action, method and fields (inputs and the buttons'
    name=value, as a submit would send them, the chosen button added by the caller)."""

    def __init__(self, text: str):
        super().__init__()
        self.action = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._in_form = False
        self._done = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = attrs.get("action", "")
            self.method = attrs.get("method", "get").lower()
        elif self._in_form and tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("submit", "button"):
                self.buttons.append((attrs["name"], attrs.get("value", "")))
            else:
                self.fields[attrs["name"]] = attrs.get("value", "") or ""
        elif self._in_form and tag == "button" and attrs.get("name"):
            self.buttons.append((attrs["name"], attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


class Response:
    def __init__(self, url: str, status: int, headers: list[tuple[str, str]], body: bytes):
        self.url = url
        self.status = status
        self.header_list = headers
        self.headers = {k: v for k, v in headers}
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str | None:
        value = self.headers.get("location")
        return urllib.parse.urljoin(self.url, value) if value else None

    def form(self) -> Form:
        return Form(self.text)


class Browser:
    """Requests to https://HOST:PORT/… go to 127.0.0.1:PORT (or `address`) with SNI and Host
    HOST, trusting `ca_path`. Cookies are kept per host (host-only, as __Host- cookies are),
    with Max-Age=0 removing one."""

    def __init__(self, ca_path: str, address: str = "127.0.0.1", extra_headers=None):
        self.context: ssl.SSLContext = client_context(ca_path)
        self.address = address
        self.cookies: dict[str, dict[str, str]] = {}
        self.history: list[Response] = []
        self.extra_headers = dict(extra_headers or {})

    def cookie(self, host: str, name: str) -> str | None:
        return self.cookies.get(host, {}).get(name)

    def request(self, url: str, method: str = "GET", form: dict | None = None,
                headers: dict | None = None, body: bytes | None = None) -> Response:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
                 "User-Agent: tunnelgate-test-browser"]
        all_headers = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}
        all_headers.update(self.extra_headers)
        all_headers.update(headers or {})
        for k, v in all_headers.items():
            if v is not None:
                lines.append(f"{k}: {v}")
        jar = self.cookies.get(host, {})
        if jar:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in jar.items()))
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        sock = socket.create_connection((self.address, port), timeout=15)
        try:
            if parts.scheme == "https":
                sock = self.context.wrap_socket(sock, server_hostname=host)
            sock.sendall(raw)
            answer = HttpResponse(sock).read_head().read_all()
        finally:
            sock.close()
        for name, value in answer.header_list:
            if name != "set-cookie":
                continue
            pair, _, attributes = value.partition(";")
            key, _, cookie_value = pair.strip().partition("=")
            if "max-age=0" in attributes.lower().replace(" ", ""):
                self.cookies.get(host, {}).pop(key, None)
            else:
                self.cookies.setdefault(host, {})[key] = cookie_value
        response = Response(url, answer.status, answer.header_list, bytes(answer.body))
        self.history.append(response)
        return response

    def follow(self, url: str, stop=lambda response: False, limit: int = 20, **kwargs) -> Response:
        """Requests `url` and follows redirects (GET) until a non-redirect answer, or until
        `stop(response)` says so (a redirect to a client's callback, which nothing serves)."""
        response = self.request(url, **kwargs)
        for _ in range(limit):
            if response.status not in (301, 302, 303, 307, 308) or stop(response):
                return response
            response = self.request(response.location)
        raise AssertionError(f"too many redirects from {url}")

    def submit(self, response: Response, values: dict | None = None, button: tuple | None = None,
               stop=lambda response: False) -> Response:
        """Submits the page's first form with `values` over its fields, and follows."""
        form = response.form()
        fields = dict(form.fields)
        fields.update(values or {})
        if button is not None:
            fields[button[0]] = button[1]
        action = urllib.parse.urljoin(response.url, form.action or response.url)
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(response.url))
        if form.method == "post":
            answer = self.request(action, "POST", form=fields, headers={"Origin": origin})
        else:
            answer = self.request(action + "?" + urllib.parse.urlencode(fields))
        for _ in range(20):
            if answer.status not in (301, 302, 303, 307, 308) or stop(answer):
                return answer
            answer = self.request(answer.location)
        raise AssertionError("too many redirects")
