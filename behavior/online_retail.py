"""Cleaning rules for the UCI Online Retail dataset (pure pandas, no Django import).

Turns the raw invoice lines into categories, products, customers and event rows for the ordinary
event path. The rules, applied in this order (each counted; see docs/ingestion.md):

1. Stock codes are upper-cased ("85123a" and "85123A" are one product).
2. NON_PRODUCT_CODE: a stock code that is not 5 digits plus at most 2 letters is not a product
   (POST, DOT, C2 postage; M manual; D discount; S samples; B bad-debt adjustment; BANK CHARGES,
   AMAZONFEE, CRUK commission, PADS, gift vouchers GIFT_0001_*, DCGS* Dotcom-gift-shop codes): dropped.
3. NON_POSITIVE_PRICE: a unit price below half a penny (0 after rounding) is not a sale: dropped.
4. STOCK_ADJUSTMENT: a negative quantity on an invoice that is not a cancellation is a stock
   correction, not a customer action: dropped.
5. A cancellation (invoice "C...") is kept as a RETURN with the quantity made positive; other lines are
   PURCHASEs. order_ref is the invoice number.
6. Lines without a CustomerID are kept as anonymous events (product-level figures use them; customer-level
   models leave them out).
7. Invoice times are Europe/London wall-clock times; they are converted to UTC.
8. An exactly repeated line gets the same event id (md5 of the raw line), so the event path counts the
   repeats as duplicates and stores one.

Products: one per (upper-cased) stock code among the kept lines (a repeated line counted once); name = the most frequent description
(ties: alphabetically first); price = the median unit price of its purchase lines (of its return lines when
it was never bought), rounded half-up to pennies. Category: the first matching keyword rule in
``CATEGORY_RULES`` (a two-level tree), else "Other". Customers: one per CustomerID; country = the most
frequent country on their kept lines (ties: alphabetically first).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SOURCE_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                  "Country"]
PRODUCT_CODE = re.compile(r"^[0-9]{5}[A-Z]{0,2}$")
LOCAL_ZONE = "Europe/London"

# (root, child, keywords): the first rule whose keyword is a whole word (or phrase) of the description wins.
CATEGORY_RULES: list[tuple[str, str, list[str]]] = [
    ("Seasonal", "Christmas", ["CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWMAN", "SNOWFLAKE",
                               "BAUBLE", "BAUBLES", "NATIVITY"]),
    ("Seasonal", "Easter", ["EASTER", "BUNNY", "CHICK"]),
    ("Party & gift wrap", "Party", ["PARTY", "BALLOON", "BALLOONS", "CONFETTI", "BIRTHDAY", "PAPER CUPS",
                                    "PAPER PLATES", "NAPKINS", "BUNTING"]),
    ("Party & gift wrap", "Cards & wrap", ["CARD", "CARDS", "WRAP", "WRAPPING", "GIFT TAG", "GIFT TAGS", "TAGS",
                                           "RIBBON", "RIBBONS", "ENVELOPE", "ENVELOPES", "TISSUE", "TISSUES"]),
    ("Kitchen & dining", "Baking", ["BAKING", "CAKE", "CAKES", "CUPCAKE", "MOULD", "CAKESTAND", "APRON",
                                    "OVEN GLOVE", "TEA TOWEL", "TEA TOWELS", "JELLY", "CASES", "SCALES"]),
    ("Kitchen & dining", "Tableware", ["MUG", "MUGS", "CUP", "CUPS", "SAUCER", "PLATE", "PLATES", "BOWL", "BOWLS",
                                       "TEAPOT", "CUTLERY", "TUMBLER", "GLASS", "COASTER", "COASTERS", "TRAY",
                                       "JUG", "PLACEMATS", "TEA SET", "EGG CUP", "TEACUP", "SPOON", "SPOONS"]),
    ("Kitchen & dining", "Food storage", ["JAR", "JARS", "TIN", "TINS", "LUNCH BOX", "LUNCHBOX", "BOTTLE",
                                          "BREAD BIN", "BISCUIT", "CONTAINER", "LUNCH BAG", "FOOD"]),
    ("Lighting & candles", "Candles", ["T-LIGHT", "T-LIGHTS", "TLIGHT", "CANDLE", "CANDLES", "CANDLEHOLDER",
                                       "VOTIVE", "INCENSE", "TEALIGHT"]),
    ("Lighting & candles", "Lights & lanterns", ["LIGHT", "LIGHTS", "LAMP", "LANTERN", "NIGHTLIGHT",
                                                 "CHANDELIER", "LED"]),
    ("Bags & storage", "Bags", ["BAG", "BAGS", "SHOPPER", "TOTE", "PURSE", "RUCKSACK", "BACKPACK"]),
    ("Bags & storage", "Boxes & baskets", ["BOX", "BOXES", "BASKET", "HAMPER", "DRAWER", "DRAWERS", "CHEST",
                                           "CABINET", "CRATE", "TRUNK", "STORAGE"]),
    ("Stationery", "Paper & writing", ["NOTEBOOK", "NOTE BOOK", "JOURNAL", "PENCIL", "PENCILS", "PEN", "PENS",
                                       "ERASER", "RULER", "STICKER", "STICKERS", "DIARY", "CALENDAR", "PAPER",
                                       "NOTEPAD", "BOOKMARK", "STATIONERY", "CHALK", "BOOK"]),
    ("Toys & kids", "Toys & games", ["TOY", "TOYS", "GAME", "GAMES", "PUZZLE", "JIGSAW", "DOMINOES", "DOLL",
                                     "DOLLY", "SPACEBOY", "SKIPPING ROPE", "PLAYHOUSE", "SPINNING TOP", "CRAYONS",
                                     "COLOURING", "KIT", "MAGIC", "BINGO", "SNAKES", "LADDERS"]),
    ("Toys & kids", "Nursery", ["TEDDY", "BABY", "CHILDS", "CHILDRENS", "CHILDREN'S", "NURSERY", "KIDS"]),
    ("Garden & outdoor", "Garden", ["GARDEN", "PLANT", "PLANTER", "POT", "POTS", "WATERING CAN", "BIRD",
                                    "BIRDHOUSE", "FEEDER", "SEED", "SEEDS", "FLOWERPOT", "PARASOL", "PICNIC",
                                    "WINDMILL", "GNOME", "HEN HOUSE"]),
    ("Fashion & accessories", "Jewellery", ["NECKLACE", "NECKLACE", "BRACELET", "EARRINGS", "RING", "RINGS",
                                            "BROOCH", "JEWEL", "JEWELLERY", "DIAMANTE", "BEAD", "BEADS", "CHARM"]),
    ("Fashion & accessories", "Accessories", ["HAIR", "CLIP", "CLIPS", "SLIPPER", "SLIPPERS", "SCARF", "WALLET",
                                              "GLOVES", "HAT", "KEYRING", "KEY RING", "MAKE UP", "UMBRELLA",
                                              "HANDBAG", "SUNGLASSES", "PASSPORT", "BATH", "SOAP", "SPONGE"]),
    ("Home decor", "Wall art & signs", ["SIGN", "PLAQUE", "FRAME", "PICTURE", "CLOCK", "MIRROR", "WALL ART",
                                        "POSTER", "PRINT", "ALARM"]),
    ("Home decor", "Textiles", ["CUSHION", "BLANKET", "THROW", "QUILT", "HOT WATER BOTTLE", "DOORMAT",
                                "CURTAIN", "TOWEL", "PICNIC BLANKET", "COVER"]),
    ("Home decor", "Ornaments", ["HANGING", "DECORATION", "ORNAMENT", "HEART", "HEARTS", "GARLAND", "WREATH",
                                 "DOORSTOP", "VASE", "FLOWER", "FLOWERS", "FEATHER", "BUTTERFLY", "STAR", "BELL",
                                 "BELLS", "HOOK", "HOOKS", "COAT HANGER", "DOOR", "KNOB", "DRAWER KNOB"]),
]
OTHER = ("Other", "Other")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class CleanedRetail:
    read: int
    categories: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    events: pd.DataFrame
    rejected: Counter = field(default_factory=Counter)
    samples: list[dict] = field(default_factory=list)
    notes: dict = field(default_factory=dict)


def read_raw(path) -> pd.DataFrame:
    """The file as strings, exactly as written (no NaN guessing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")


def categorise(descriptions: pd.Series) -> pd.DataFrame:
    """root and child category name of each description (first matching rule)."""
    text = descriptions.fillna("").str.upper()
    root = pd.Series(OTHER[0], index=text.index, dtype=object)
    child = pd.Series(OTHER[1], index=text.index, dtype=object)
    todo = pd.Series(True, index=text.index)
    for rule_root, rule_child, keywords in CATEGORY_RULES:
        pattern = r"(?<![A-Z0-9])(?:" + "|".join(re.escape(k) for k in keywords) + r")(?![A-Z0-9])"
        hit = todo & text.str.contains(pattern, regex=True)
        root[hit], child[hit] = rule_root, rule_child
        todo &= ~hit
    return pd.DataFrame({"root": root, "child": child})


def _mode(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Most frequent value per key; ties broken by the alphabetically first value."""
    counts = frame.groupby([key, value]).size().reset_index(name="n")
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)[value]


@dataclass
class _Lines:
    """The invoice lines still kept, with their parsed columns, and what was dropped so far."""

    frame: pd.DataFrame
    quantity: pd.Series
    price: pd.Series
    cancelled: pd.Series
    sample_limit: int
    rejected: Counter = field(default_factory=Counter)
    samples: list[dict] = field(default_factory=list)

    def drop(self, mask: pd.Series, code: str, field_name: str, message: str) -> None:
        mask = mask.fillna(True)
        self.rejected[code] += int(mask.sum())
        for row in self.frame.row[mask].head(max(0, self.sample_limit - len(self.samples))):
            self.samples.append({"row": int(row), "field": field_name, "code": code, "message": message})
        keep = ~mask
        self.frame, self.quantity, self.price, self.cancelled = (
            self.frame[keep], self.quantity[keep], self.price[keep], self.cancelled[keep])


def clean(raw: pd.DataFrame, *, sample_limit: int = 200) -> CleanedRetail:
    missing = set(SOURCE_COLUMNS) - set(raw.columns)
    if missing:
        raise ValueError(f"not an Online Retail file: missing columns {', '.join(sorted(missing))}")
    notes: dict = {}
    lines = _kept_lines(raw, notes, sample_limit)
    events = _events(lines, notes)
    # Statistics count a repeated line once.
    first_seen = ~events.event_id.duplicated().to_numpy()
    products, categories = _products(lines, first_seen, notes)
    customers = _customers(lines, events.customer_external_id, first_seen)
    lines.samples.sort(key=lambda s: s["row"])
    return CleanedRetail(read=len(raw), categories=categories, products=products, customers=customers,
                         events=events, rejected=lines.rejected, samples=lines.samples[:sample_limit], notes=notes)


def _kept_lines(raw: pd.DataFrame, notes: dict, sample_limit: int) -> _Lines:
    """Rules 1 to 4: upper-cased stock codes; non-products, non-positive prices and stock adjustments dropped."""
    frame = raw[SOURCE_COLUMNS].copy()
    frame["row"] = np.arange(1, len(frame) + 1)
    raw_code = frame.StockCode.str.strip()
    frame["sku"] = raw_code.str.upper()
    notes["stock_codes_upper_cased"] = int((raw_code != frame.sku).sum())
    lines = _Lines(frame, quantity=pd.to_numeric(frame.Quantity, errors="coerce"),
                   price=pd.to_numeric(frame.UnitPrice, errors="coerce"),
                   cancelled=frame.InvoiceNo.str.strip().str.upper().str.startswith("C"), sample_limit=sample_limit)

    non_product = ~lines.frame.sku.str.match(PRODUCT_CODE)
    notes["non_product_lines_by_code"] = {
        k: int(v) for k, v in lines.frame.sku[non_product].value_counts().sort_index().items()}
    lines.drop(non_product, "NON_PRODUCT_CODE", "StockCode", "not a product (postage, fee, manual entry, voucher...)")
    lines.drop(~(lines.price >= 0.005), "NON_POSITIVE_PRICE", "UnitPrice", "unit price is zero or negative")
    lines.drop(~lines.cancelled & ~(lines.quantity > 0), "STOCK_ADJUSTMENT", "Quantity",
               "negative quantity outside a cancellation")
    # Cancellations with a non-negative quantity would be odd; they are still returns of abs(quantity).
    lines.drop(~(lines.quantity.abs() > 0), "STOCK_ADJUSTMENT", "Quantity", "zero or missing quantity")
    return lines


def _events(lines: _Lines, notes: dict) -> pd.DataFrame:
    """Rules 5 to 8: returns and purchases, anonymous lines kept, UTC times, an event id per raw line."""
    df = lines.frame
    local = pd.to_datetime(df.InvoiceDate.str.strip(), format="%Y-%m-%d %H:%M:%S")
    occurred = local.dt.tz_localize(LOCAL_ZONE, ambiguous=np.zeros(len(local), dtype=bool),
                                    nonexistent="shift_forward").dt.tz_convert("UTC")
    notes["timestamps_shifted_from_bst"] = int((occurred.dt.tz_localize(None) != local).sum())
    customer = df.CustomerID.str.strip().str.replace(r"\.0$", "", regex=True)
    customer = customer.where(customer != "", None)
    notes["anonymous_lines_kept"] = int(customer.isna().sum())
    notes["cancellation_lines_as_returns"] = int(lines.cancelled.sum())
    line_text = (df.InvoiceNo + "|" + df.StockCode + "|" + df.Description + "|" + df.Quantity + "|"
                 + df.InvoiceDate + "|" + df.UnitPrice + "|" + df.CustomerID + "|" + df.Country)
    event_id = ["OR-" + hashlib.md5(t.encode()).hexdigest() for t in line_text]
    notes["repeated_lines"] = int(pd.Series(event_id).duplicated().sum())
    events = pd.DataFrame({
        "event_id": event_id,
        "customer_external_id": customer.to_numpy(),
        "product_sku": df.sku.to_numpy(),
        "kind": np.where(lines.cancelled, "return", "purchase"),
        "occurred_at": occurred.to_numpy(),
        "quantity": lines.quantity.abs().astype(np.int64).to_numpy(),
        "unit_price": df.UnitPrice.str.strip().to_numpy(),
        "rating": None,
        "order_ref": df.InvoiceNo.str.strip().to_numpy(),
        "session_id": "",
    })
    events["occurred_at"] = pd.to_datetime(events.occurred_at, utc=True)
    return events


def _products(lines: _Lines, first_seen: np.ndarray, notes: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Products (name: the most frequent description; price: the median purchase price) and their categories."""
    df = lines.frame
    table = pd.DataFrame({"sku": df.sku.to_numpy(), "description": df.Description.str.strip().to_numpy(),
                          "price": lines.price.to_numpy(), "is_return": lines.cancelled.to_numpy()})[first_seen]
    described = table[table.description != ""]
    names = _mode(described, "sku", "description")
    variants = described.groupby("sku").description.nunique()
    purchase_price = table[~table.is_return].groupby("sku").price.median()
    return_price = table[table.is_return].groupby("sku").price.median()
    skus = pd.Index(sorted(table.sku.unique()), name="sku")
    product_price = purchase_price.reindex(skus).fillna(return_price.reindex(skus))
    name = names.reindex(skus)
    name = name.where(name.notna(), "Stock code " + skus.to_series())
    cats = categorise(name)
    products = pd.DataFrame({
        "sku": skus,
        "name": name.to_numpy(),
        "price": [f"{round(p + 1e-9, 2):.2f}" for p in product_price.to_numpy()],
        "category_slug": [slugify(f"{r} {c}") for r, c in zip(cats.root, cats.child)],
        "attributes": [{"source": "online_retail", "descriptions": int(variants.get(s, 0))} for s in skus],
    })
    notes["products_by_root_category"] = {k: int(v) for k, v in cats.root.value_counts().sort_index().items()}

    used = sorted(set(zip(cats.root, cats.child)))
    roots = sorted({r for r, _ in used})
    categories = pd.DataFrame(
        [{"slug": slugify(r), "name": r, "parent_slug": None} for r in roots]
        + [{"slug": slugify(f"{r} {c}"), "name": c, "parent_slug": slugify(r)} for r, c in used]
    )
    return products, categories


def _customers(lines: _Lines, customer: pd.Series, first_seen: np.ndarray) -> pd.DataFrame:
    """One per CustomerID; country: the most frequent on their lines."""
    known = pd.DataFrame({"external_id": customer.to_numpy(), "country": lines.frame.Country.str.strip().to_numpy()})
    known = known[first_seen].dropna(subset=["external_id"])
    country = _mode(known, "external_id", "country")
    return pd.DataFrame({"external_id": country.index.to_numpy(), "country": country.to_numpy()})
