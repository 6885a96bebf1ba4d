"""A small Roll app: `make run` serves it on http://127.0.0.1:3579."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus

from roll import HttpError, Request, Response, Roll
from roll.extensions import simple_server

app = Roll()
app["notes"] = {}


@app.route("/")
async def home(request: Request, response: Response) -> None:
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.body = (
        "<h1>Hello from Roll</h1>"
        '<p>Try <a href="/hello/you">/hello/you</a> or <a href="/notes">/notes</a>.</p>'
    )


@app.route("/hello/{name}")
async def hello(request: Request, response: Response, name: str) -> None:
    loud = request.query.bool("loud", False)
    greeting = f"Hello {name}!"
    response.body = greeting.upper() if loud else greeting


@app.route("/notes", methods=["GET", "POST"])
async def notes(request: Request, response: Response) -> None:
    store: dict[int, str] = app["notes"]
    if request.method == "POST":
        text = request.form.get("text") if request.form else request.json.get("text")
        if not isinstance(text, str) or not text:
            raise HttpError(HTTPStatus.BAD_REQUEST, "A note needs a non-empty 'text'")
        note_id = len(store) + 1
        store[note_id] = text
        response.status = HTTPStatus.CREATED
        response.json = {"id": note_id, "text": text}
        return
    response.json = [{"id": key, "text": value} for key, value in store.items()]


@app.route("/notes/{note_id:digit}")
class Note:
    async def on_get(self, request: Request, response: Response, note_id: str) -> None:
        store: dict[int, str] = app["notes"]
        try:
            response.json = {"id": int(note_id), "text": store[int(note_id)]}
        except KeyError:
            raise HttpError(HTTPStatus.NOT_FOUND, f"No note {note_id}")

    async def on_delete(self, request: Request, response: Response, note_id: str) -> None:
        store: dict[int, str] = app["notes"]
        store.pop(int(note_id), None)
        response.status = HTTPStatus.NO_CONTENT


@app.route("/count")
async def count(request: Request, response: Response) -> None:
    async def numbers() -> AsyncIterator[str]:
        for number in range(request.query.int("to", 5)):
            yield f"{number}\n"

    response.body = numbers()


if __name__ == "__main__":
    simple_server(app)  # http://127.0.0.1:3579, Ctrl-C stops it gracefully
