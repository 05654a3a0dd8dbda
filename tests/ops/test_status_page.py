"""The status page in headless Chromium: it renders one row per table with its
state, shows a stopped table's reason, updates between loads, needs no other
host, and its screenshot is not blank."""
import re
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "ops-screenshots"


class Rows(HTMLParser):
    """Collects each <section data-table=...> row's state and text."""

    def __init__(self):
        super().__init__()
        self.rows = {}
        self._current = None
        self._depth = 0
        self._field = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-table" in a:
            self._current = a["data-table"]
            self.rows[self._current] = {"state": a.get("data-state"), "text": ""}
            self._depth = 0
        elif self._current:
            self._depth += 1
            if a.get("data-field"):
                self._field = a["data-field"]

    def handle_endtag(self, tag):
        if self._current:
            if self._depth == 0 and tag == "section":
                self._current = None
            else:
                self._depth -= 1
            self._field = None

    def handle_data(self, data):
        if self._current:
            self.rows[self._current]["text"] += data + " "
            if self._field:
                self.fields[(self._current, self._field)] = data


def rows_of(dom: str) -> Rows:
    parser = Rows()
    parser.feed(dom)
    return parser


def test_rows_states_and_stopped_reason(demo, chromium):
    dom = chromium.dump_dom(demo.url + "/")
    rows = rows_of(dom).rows
    assert set(rows) == {"shop.orders", "shop.customers", "inventory.items"}
    assert rows["shop.orders"]["state"] == "running"
    assert rows["shop.customers"]["state"] == "catching_up"
    assert rows["inventory.items"]["state"] == "stopped"
    stopped = rows["inventory.items"]["text"]
    assert "schema change refused: column price changed DECIMAL(10,2) -> STRING" in stopped
    assert "not ready: inventory.items" in dom
    # Versions, last commit, dead letters, sparklines.
    orders = rows["shop.orders"]["text"]
    assert re.search(r"log\s+v\d+", orders)
    dead = re.search(r"(\d+) dead letters?\b", orders)
    assert dead and int(dead.group(1)) >= 2, orders
    assert "does not fit DECIMAL(12,2)" in orders  # newest dead letter's reason
    assert re.search(r"part-\d+\.avro#\d+", orders)  # ... and its origin
    assert dom.count("<polyline") >= 9  # three sparklines per table


def test_numbers_change_between_two_loads(demo, chromium):
    first = rows_of(chromium.dump_dom(demo.url + "/")).fields[("shop.orders", "counts")]
    second = rows_of(chromium.dump_dom(demo.url + "/")).fields[("shop.orders", "counts")]
    assert "events" in first and first != second


def test_works_with_every_other_host_unreachable(demo, chromium):
    # Any name or address but the server's fails to resolve: the page needs
    # nothing from elsewhere (no CDN, fonts or scripts).
    dom = chromium.dump_dom(demo.url + "/",
                            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    assert len(rows_of(dom).rows) == 3


def test_token_from_fragment(demo_factory, chromium):
    server = demo_factory("--token", "frag-t0ken")
    without = rows_of(chromium.dump_dom(server.url + "/")).rows
    assert without == {}
    with_token = rows_of(chromium.dump_dom(server.url + "/#token=frag-t0ken")).rows
    assert len(with_token) == 3


def not_blank(path: Path) -> None:
    image = Image.open(path).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, f"{path} looks blank"
    # Not one colour filling almost everything.
    biggest = max(count for count, _ in colors)
    assert biggest < 0.95 * image.width * image.height, f"{path} is mostly one colour"


def test_screenshots_desktop_and_phone(demo, chromium):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desktop = chromium.screenshot(demo.url + "/", SCREENSHOTS / "status-desktop.png", "1400,900")
    phone = chromium.screenshot(demo.url + "/", SCREENSHOTS / "status-phone.png", "390,844")
    not_blank(desktop)
    not_blank(phone)
    assert Image.open(phone).width == 390
