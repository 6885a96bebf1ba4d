# examples/bigger/main.py: the app, its providers, its routers.
from roll.typed import TypedRoll

from examples.bigger.items import Item, Store, router


def make_store() -> Store:
    return Store({1: Item(name="tea", price=2.5)})


app = TypedRoll()
app.provide(Store, make_store, singleton=True)
app.include(router, prefix="/api")

if __name__ == "__main__":
    from roll.extensions import simple_server

    simple_server(app)
