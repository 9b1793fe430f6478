"""A private simple index for the e2e suites: builds tiny wheels and serves them on 127.0.0.1 with basic auth.

usage: private_index.py <folder> <user> <password> <name>==<version>[:<marker text>] ...
Each wheel holds one module <name> whose MARK is "<marker text>" (default "private") and __version__ its version.
/simple/ and /files/ need the basic auth; /git/<path> serves <folder>/git/<path> without it (git's dumb HTTP
protocol, for a bare repository after `git update-server-info`). Prints the port on its first line, then serves
until killed; every request is logged to <folder>/access.log.
"""
import base64
import hashlib
import http.server
import os
import sys
import zipfile


def build_wheel(folder, name, version, mark):
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\nMARK = "{mark}"\n',
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: stigmer-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}.dist-info/RECORD,,\n"
    files[f"{dist}.dist-info/RECORD"] = record
    wheel = os.path.join(folder, "files", f"{dist}-py3-none-any.whl")
    os.makedirs(os.path.dirname(wheel), exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, text)
    digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
    return os.path.basename(wheel), digest


def main():
    folder, user, password, *specs = sys.argv[1:]
    projects = {}
    for spec in specs:
        requirement, _, mark = spec.partition(":")
        name, version = requirement.split("==")
        projects.setdefault(name.lower().replace("_", "-"), []).append(build_wheel(folder, name, version, mark or "private"))
    token = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    log = open(os.path.join(folder, "access.log"), "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.do_GET(head=True)

        def do_GET(self, head=False):
            parts = [p for p in self.path.split("?")[0].split("/") if p and p != ".."]
            if parts[:1] == ["git"]:
                return self.reply(os.path.join(folder, *parts), None, head)
            authorized = self.headers.get("Authorization") == token
            log.write(f"{'200' if authorized else '401'} {self.path}\n")
            if not authorized:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.end_headers()
                return
            body, kind = None, "text/html"
            if parts == ["simple"]:
                body = "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in projects)
            elif len(parts) == 2 and parts[0] == "simple" and parts[1] in projects:
                body = "".join(f'<a href="/files/{f}#sha256={d}">{f}</a>\n' for f, d in projects[parts[1]])
            elif len(parts) == 2 and parts[0] == "files":
                return self.reply(os.path.join(folder, "files", parts[1]), None, head)
            self.reply(None, body, head, kind)

        def reply(self, file, body, head, kind="application/octet-stream"):
            if file is not None and os.path.isfile(file):
                body = open(file, "rb").read()
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            data = body.encode() if isinstance(body, str) else body
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
