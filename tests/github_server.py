"""A small GitHub-compatible REST server on 127.0.0.1, with state, for tests.

It speaks enough of the API for perfgate's publisher through PyGithub: the
token's user, issues and their comments (with pagination), check runs. Faults
can be injected: N responses with a given status for a route, optionally after
the write took effect (a lost response), a read-only token, a body size limit.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

READ_ONLY_MESSAGE = "Resource not accessible by integration"


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    times: int = 1
    after_effect: bool = False
    message: str = "Server Error"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    login: str = "github-actions[bot]"
    read_only: bool = False
    user_forbidden: bool = True  # the workflow token cannot read /user
    max_body: int = 65_536
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    """Open pull requests: {"number": N, "head_sha": SHA, "labels": [names]}, and
    optionally "head_owner", "head_ref" and "fork" (True: GitHub's commit lookup misses it)."""
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Issues (not pull requests) by number: title, body, state, labels, login."""
    opened_pulls: list[dict[str, Any]] = field(default_factory=list)
    """Pull requests created through the API: title, body, head, base."""
    faults: list[Fault] = field(default_factory=list)
    garble: Any = None
    """When set: a function that turns each response body (bytes) into another."""
    requests: list[Request] = field(default_factory=list)
    _next_id: int = 1000
    url: str = ""

    def add_comment(self, number: int, body: str, login: str) -> int:
        self._next_id += 1
        self.comments[self._next_id] = {"id": self._next_id, "number": number, "body": body,
                                        "login": login}  # fmt: skip
        return self._next_id

    def add_issue(self, title: str, body: str, labels: list[str], state: str = "open") -> int:
        self._next_id += 1
        self.issues[self._next_id] = {"number": self._next_id, "title": title, "body": body,
                                      "state": state, "labels": labels, "login": self.login}  # fmt: skip
        return self._next_id

    def _issue_json(self, repo: str, issue: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo}"
        return {
            "number": issue["number"], "url": f"{api}/issues/{issue['number']}",
            "comments_url": f"{api}/issues/{issue['number']}/comments",
            "html_url": f"{self.url}/{repo}/issues/{issue['number']}", "title": issue["title"],
            "body": issue["body"], "state": issue["state"], "user": {"login": issue["login"]},
            "labels": [{"name": n} for n in issue["labels"]], "pull_request": None,
        }  # fmt: skip

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["number"] == number]

    def fail(self, method: str, pattern: str, status: int, **kwargs: Any) -> None:
        self.faults.append(Fault(method, pattern, status, **kwargs))

    # --- handling -------------------------------------------------------------------------

    def _comment_json(self, repo: str, comment: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo}"
        return {
            "id": comment["id"],
            "url": f"{api}/issues/comments/{comment['id']}",
            "html_url": f"{self.url}/{repo}/pull/{comment['number']}#issuecomment-{comment['id']}",
            "issue_url": f"{api}/issues/{comment['number']}",
            "body": comment["body"],
            "user": {"login": comment["login"], "id": 1, "type": "Bot"},
            "created_at": "2026-11-23T00:00:00Z",
            "updated_at": "2026-11-23T00:00:00Z",
        }

    def _pull_json(self, api: str, p: dict[str, Any]) -> dict[str, Any]:
        return {"number": p["number"], "url": f"{api}/pulls/{p['number']}", "state": "open",
                "head": {"sha": p["head_sha"], "ref": p.get("head_ref", "topic")},
                "labels": [{"name": n} for n in p["labels"]]}  # fmt: skip

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.search(fault.pattern, path):
                fault.times -= 1
                if fault.after_effect:
                    self._route(method, path, query, body)
                return fault.status, {"message": fault.message}, {}
        if self.read_only and method in ("POST", "PATCH", "DELETE"):
            return 403, {"message": READ_ONLY_MESSAGE}, {}
        return self._route(method, path, query, body)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/user" and method == "GET":
            if self.user_forbidden:
                return 403, {"message": READ_ONLY_MESSAGE}, {}
            return 200, {"login": self.login, "id": 1}, {}
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", path)
        if not match:
            return 404, {"message": "Not Found"}, {}
        repo, rest = match.groups()
        api = f"{self.url}/repos/{repo}"
        if rest == "/issues" and method == "GET":
            state = query.get("state", ["open"])[0]
            wanted = set(filter(None, query.get("labels", [""])[0].split(",")))
            found = [i for i in self.issues.values()
                     if state in ("all", i["state"]) and wanted <= set(i["labels"])]  # fmt: skip
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            headers = {}
            if page * per_page < len(found):
                link = f"{api}/issues?state={state}&per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{link}>; rel="next"'
            chunk = found[(page - 1) * per_page : page * per_page]
            return 200, [self._issue_json(repo, i) for i in chunk], headers
        if rest == "/issues" and method == "POST":
            number = self.add_issue(body["title"], body.get("body", ""), body.get("labels", []))
            return 201, self._issue_json(repo, self.issues[number]), {}
        if (m := re.fullmatch(r"/issues/(\d+)", rest)) and int(m.group(1)) in self.issues:
            issue = self.issues[int(m.group(1))]
            if method == "PATCH":
                issue.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return 200, self._issue_json(repo, issue), {}
        if rest == "/pulls" and method == "POST":
            self._next_id += 1
            pull = {"number": self._next_id, **body}
            self.opened_pulls.append(pull)
            return 201, {"number": self._next_id, "url": f"{api}/pulls/{self._next_id}",
                         "head": {"ref": body["head"], "sha": "0" * 40},
                         "base": {"ref": body["base"]}, "title": body["title"],
                         "state": "open", "labels": []}, {}  # fmt: skip
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            number = int(m.group(1))
            return 200, {"number": number, "url": f"{api}/issues/{number}",
                         "comments_url": f"{api}/issues/{number}/comments",
                         "html_url": f"{self.url}/{repo}/pull/{number}", "title": "PR",
                         "state": "open", "user": {"login": "author"}}, {}  # fmt: skip
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if method == "POST":
                text = body.get("body", "")
                if len(text) > self.max_body:
                    return 422, {"message": "Validation Failed",
                                 "errors": [{"resource": "IssueComment", "code": "custom",
                                             "field": "body", "message": "Body is too long"}]}, {}  # fmt: skip
                cid = self.add_comment(number, text, self.login)
                return 201, self._comment_json(repo, self.comments[cid]), {}
            items = self.comments_on(number)
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                link = f"{api}/issues/{number}/comments?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{link}>; rel="next"'
            return 200, [self._comment_json(repo, c) for c in chunk], headers
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            comment = self.comments[int(m.group(1))]
            if len(body.get("body", "")) > self.max_body:
                return 422, {"message": "Validation Failed",
                             "errors": [{"message": "Body is too long"}]}, {}  # fmt: skip
            comment["body"] = body["body"]
            return 200, self._comment_json(repo, comment), {}
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", rest)) and method == "GET":
            # As on GitHub: a commit that exists only in a fork lists no pull request.
            return 200, [
                self._pull_json(api, p)
                for p in self.pulls
                if p["head_sha"] == m.group(1) and not p.get("fork")
            ], {}  # fmt: skip
        if rest == "/pulls" and method == "GET":
            head = query.get("head", [""])[0]
            return 200, [
                self._pull_json(api, p)
                for p in self.pulls
                if not head or head == f"{p.get('head_owner', 'octo')}:{p.get('head_ref', 'topic')}"
            ], {}  # fmt: skip
        if rest == "/check-runs" and method == "POST":
            self._next_id += 1
            run = {**body, "id": self._next_id, "url": f"{api}/check-runs/{self._next_id}"}
            self.check_runs[self._next_id] = run
            return 201, run, {}
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/check-runs", rest)) and method == "GET":
            name = query.get("check_name", [None])[0]
            runs = [r for r in self.check_runs.values()
                    if r.get("head_sha") == m.group(1) and name in (None, r.get("name"))]  # fmt: skip
            return 200, {"total_count": len(runs), "check_runs": runs}, {}
        if (m := re.fullmatch(r"/check-runs/(\d+)", rest)) and method == "PATCH":
            run = self.check_runs[int(m.group(1))]
            run.update(body)
            return 200, run, {}
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "DELETE":
            self.comments.pop(int(m.group(1)), None)
            return 204, None, {}
        return 404, {"message": "Not Found"}, {}

    # --- serving --------------------------------------------------------------------------

    def start(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append(Request(self.command, parsed.path, dict(self.headers), body))
                status, payload, headers = fake.handle(
                    self.command, parsed.path, parse_qs(parsed.query), body
                )
                data = b"" if payload is None else json.dumps(payload).encode()
                if fake.garble is not None:
                    data = fake.garble(data)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
