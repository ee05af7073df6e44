#!/usr/bin/env python3
"""A small Switchboard `http` bot in Python 3.8+, standard library only (http.server, hmac, hashlib, json).

    BOT_SECRET='the secret you gave the bot in Switchboard' PORT=3000 python3 examples/python-bot.py

Then register it: POST /api/bots {"name": "Example", "type": "http", "config": {"url": "http://this-host:3000/", "secret": "…"}}.
What it answers (docs/bots.md explains every field it reads and writes):
  "menu"                          → three reply buttons
  a choice (type "reply")         → a text naming the chosen option's id
  a photo                         → a 👍 reaction to it, and a text giving its size
  any other text                  → the text back ("You said: …")
  anything else (a location, …)   → 204: no answer
"""
import hashlib
import hmac
import json
import os
import sys
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("BOT_SECRET", "").encode("utf-8")
PORT = int(os.environ.get("PORT", "3000"))
HOST = os.environ.get("HOST", "0.0.0.0")
# The gateway's requests are a few kB; anything much bigger is not from it.
MAX_BODY_BYTES = 1024 * 1024

MENU = {
    "type": "buttons",
    "text": "What would you like to know?",
    "buttons": [
        {"id": "prices", "title": "Prices"},
        {"id": "hours", "title": "Opening hours"},
        {"id": "person", "title": "Talk to a person"},
    ],
    "footer": "Tap one, or type its number",
}


def signature_holds(body: bytes, header) -> bool:
    """Whether header is sha256=<hex HMAC-SHA256 of body with SECRET>.

    It runs over the raw bytes, before any JSON parsing (a re-serialised object would not give the same
    bytes), and compares in constant time.
    """
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode("ascii")
    given = header[len("sha256="):].strip().lower().encode("latin-1", "replace")
    return hmac.compare_digest(given, expected)


def size_of(size: int) -> str:
    """2.4 MB, 312 kB, 80 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{round(size / 1_000)} kB"
    return f"{size} bytes"


def answer(message: dict) -> list:
    """The replies to one inbound message (an empty list: no answer)."""
    kind = message.get("type")
    text = message.get("text")
    if kind == "text":
        if text.strip().lower() == "menu":
            return [MENU]
        return [{"type": "text", "text": f"You said: {text}"}]
    if kind == "reply":
        # The same on every provider: Meta and Turn.io buttons, or a number typed on Twilio.
        reply = message["reply"]
        return [{"type": "text", "text": f'You chose "{reply.get("title") or reply["id"]}" (id {reply["id"]}).'}]
    if kind == "image":
        media = message["media"]
        if media["status"] == "stored":
            about = f'{size_of(media["size"])}, {media["mime_type"]}'
        else:
            about = "but I could not fetch it"
        return [
            # A reaction names the gateway id of the message it reacts to.
            {"type": "reaction", "message_id": message["id"], "emoji": "👍"},
            {"type": "text", "text": f"Thanks for the photo ({about})."},
        ]
    return [{"type": "text", "text": f"You said: {text}"}] if text else []


# The gateway sends the same Idempotency-Key when it calls again for the same message (after a timeout,
# or a crash before it recorded the answer): answer it as before instead of acting twice. A real bot keeps
# this where its other state lives; a few thousand recent keys in memory are enough for an example.
answered: "OrderedDict[str, list]" = OrderedDict()
answered_lock = threading.Lock()


class BotHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps the gateway's connection open between messages; every answer then needs its length.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                return self.send_json(413, {"error": "body too large"})
            body = self.rfile.read(length)
            # 1. The signature, over the exact bytes received.
            if not signature_holds(body, self.headers.get("X-Switchboard-Signature")):
                return self.send_json(401, {"error": "bad signature"})
            # 2. Only then the JSON.
            try:
                request = json.loads(body)
            except ValueError:
                return self.send_json(400, {"error": "not JSON"})
            # 3. A retry of a message already answered gets the same answer.
            key = self.headers.get("Idempotency-Key")
            with answered_lock:
                earlier = answered.get(key) if key else None
            replies = earlier if earlier is not None else answer(request["message"])
            if key and earlier is None:
                with answered_lock:
                    answered[key] = replies
                    if len(answered) > 5000:
                        answered.popitem(last=False)
            # 4. 200 with the replies, or 204 for no answer.
            if not replies:
                self.send_response(204)
                self.end_headers()
                return None
            return self.send_json(200, {"replies": replies})
        except Exception as error:  # a 5xx makes the gateway retry with backoff
            print(f"the bot failed: {error!r}", file=sys.stderr, flush=True)
            return self.send_json(500, {"error": "the bot failed"})

    def send_json(self, status: int, value: dict):
        data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    if not SECRET:
        print("Set BOT_SECRET to the secret of this bot in Switchboard.", file=sys.stderr)
        sys.exit(1)
    server = ThreadingHTTPServer((HOST, PORT), BotHandler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
