"""CSV imports (plain and gzip) with reports that add up, and the Online Retail cleaning rules."""

import gzip
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.core.management import call_command

from behavior.models import Customer, Event, ImportReport
from behavior.online_retail import categorise, clean, read_raw
from behavior.services import customers_import_csv, events_import_csv, products_import_csv
from catalog.models import Product
from tests import factories
from tests.conftest import GraphQLClient, make_staff

EVENTS_CSV = """event_id,customer_external_id,product_sku,kind,occurred_at,quantity,unit_price,rating,order_ref,session_id
a1,c1,MUG-1,purchase,2024-03-01T10:00:00Z,2,8.50,,O1,
a1,c1,MUG-1,purchase,2024-03-01T10:00:00Z,2,8.50,,O1,
,c2,TEA-1,view,2024-03-01 11:00:00,,,,,s1
,,TEA-1,review,2024-03-02T11:00:00Z,,,4,,
b1,c3,NOPE,view,2024-03-01T10:00:00Z,,,,,
b2,c3,MUG-1,view,not a date,,,,,
b3,c3,MUG-1,purchase,2024-03-01T10:00:00Z,-1,8.50,,,
"""


@pytest.mark.parametrize("compressed", [False, True])
def test_events_import_stores_valid_rows_and_reports_every_reason(shop, tmp_path, compressed):
    # given: 7 rows, one repeated, three invalid
    path = tmp_path / ("events.csv.gz" if compressed else "events.csv")
    path.write_bytes(gzip.compress(EVENTS_CSV.encode()) if compressed else EVENTS_CSV.encode())
    # when
    report = events_import_csv(path=path)
    # then
    assert (report.status, report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (
        "succeeded", 7, 3, 3, 1)
    assert report.rows_read == report.rows_stored + report.rows_rejected + report.rows_duplicate
    assert report.rejected_by_reason == {"INVALID_QUANTITY": 1, "INVALID_TIMESTAMP": 1, "UNKNOWN_PRODUCT": 1}
    assert [(s["row"], s["code"]) for s in report.sample_errors] == [
        (5, "UNKNOWN_PRODUCT"), (6, "INVALID_TIMESTAMP"), (7, "INVALID_QUANTITY")]
    assert Event.objects.count() == 3
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["c1", "c2"]


def test_importing_the_same_file_again_stores_nothing_twice(shop, tmp_path):
    # given: the file imported once
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV)
    events_import_csv(path=path)
    # when
    again = events_import_csv(path=path)
    # then: its valid rows are duplicates now
    assert (again.rows_stored, again.rows_duplicate, again.rows_rejected) == (0, 4, 3)
    assert Event.objects.count() == 3


def test_the_import_commands_print_the_report(shop, tmp_path, capsys):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV)
    call_command("import_events", str(path))
    out = capsys.readouterr().out
    assert "7 read, 3 stored, 3 rejected" in out and "1 duplicates" in out


def test_a_products_import_updates_creates_and_reports_duplicates_and_errors(db, tmp_path):
    # given: a stored product, and a file that renames it, adds one twice and has two bad rows
    factories.product("OLD-1", price="1.00", name="Old")
    products = tmp_path / "products.csv"
    products.write_text("sku,name,price,brand\nOLD-1,Renamed,2.005,Acme\nNEW-1,New,3,\nNEW-1,Again,4,\n"
                        "BAD-1,Bad,-2,\n,Nameless,1,\n")
    # when
    report = products_import_csv(path=products)
    # then
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (5, 2, 2, 1)
    assert report.rejected_by_reason == {"INVALID_PRICE": 1, "REQUIRED": 1}
    assert report.notes == {"created": 1, "updated": 1}
    old = Product.objects.get(sku="OLD-1")
    assert (old.name, old.price, old.brand) == ("Renamed", Decimal("2.01"), "Acme")
    assert Product.objects.get(sku="NEW-1").name == "New"  # the first occurrence wins


def test_a_gzipped_customers_import_stores_the_valid_rows_and_rejects_a_bad_date(db, tmp_path):
    # given
    customers = tmp_path / "customers.csv.gz"
    customers.write_bytes(gzip.compress(b"external_id,country,signed_up_at\nk1,France,2024-01-01T00:00:00Z\n"
                                        b"k2,,\nk3,France,not-a-date\n"))
    # when
    report = customers_import_csv(path=customers)
    # then
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (3, 2, 1, 0)
    assert report.rejected_by_reason == {"INVALID_VALUE": 1}
    assert Customer.objects.get(external_id="k1").signed_up_at == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_import_reports_are_visible_to_staff_with_the_view_permission(client, shop, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV)
    events_import_csv(path=path)
    query = "{ importReports { kind rowsRead rowsStored rowsRejected rowsDuplicate rejectedByReason } }"
    assert GraphQLClient(client)(query, expect_errors=True)["data"] is None
    gql = GraphQLClient(client, make_staff("auditor", perms=("behavior.view_importreport",)))
    assert gql(query)["data"]["importReports"] == [{
        "kind": "events", "rowsRead": 7, "rowsStored": 3, "rowsRejected": 3, "rowsDuplicate": 1,
        "rejectedByReason": {"INVALID_QUANTITY": 1, "INVALID_TIMESTAMP": 1, "UNKNOWN_PRODUCT": 1}}]


# --- Online Retail cleaning rules (pure) -----------------------------------------------------------

RETAIL = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
536366,85123a,WHITE HANGING HEART T-LIGHT HOLDER,2,2011-06-01 08:26:00,2.95,17850,United Kingdom
536367,85123A,CREAM HANGING HEART T-LIGHT HOLDER,1,2011-06-02 09:00:00,2.65,,United Kingdom
C536368,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,2011-06-03 10:00:00,2.95,17850,United Kingdom
536369,POST,POSTAGE,1,2011-06-03 10:00:00,18.00,12345,France
536369,BANK CHARGES,Bank Charges,1,2011-06-03 10:00:00,15.00,12345,France
536369,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2011-06-03 10:00:00,17.02,,United Kingdom
536370,22139,,5,2011-06-03 10:00:00,0,,United Kingdom
536371,22139,damaged,-10,2011-06-03 10:00:00,0.01,,United Kingdom
536372,22139,RETROSPOT TEA SET CERAMIC 11 PC,3,2011-06-04 12:00:00,4.95,12345,France
536372,22139,RETROSPOT TEA SET CERAMIC 11 PC,3,2011-06-04 12:00:00,4.95,12345,France
536373,22139,RETROSPOT TEA SET CERAMIC 11 PC,1,2011-06-05 12:00:00,5.95,12345,Germany
536373,22139,RETROSPOT TEA SET CERAMIC 11 PC,1,2011-06-05 12:00:00,5.95,12345,Germany
"""


@pytest.fixture
def retail(tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    return clean(read_raw(path))


def test_non_products_zero_prices_and_stock_adjustments_are_dropped_and_counted_by_rule(retail):
    # given: 13 lines, of which 3 non-product codes (one lower-case), one zero price, one stock adjustment
    # then
    assert retail.read == 13
    assert retail.rejected == {"NON_PRODUCT_CODE": 3, "NON_POSITIVE_PRICE": 1, "STOCK_ADJUSTMENT": 1}
    assert retail.notes["non_product_lines_by_code"] == {"BANK CHARGES": 1, "GIFT_0001_20": 1, "POST": 1}
    assert retail.notes["stock_codes_upper_cased"] == 2  # 85123a and gift_0001_20
    assert len(retail.events) == 8


def test_a_cancellation_becomes_a_return_with_a_positive_quantity(retail):
    # given: invoice C536368, quantity -2
    # then
    assert retail.notes["cancellation_lines_as_returns"] == 1
    ret = retail.events.set_index("order_ref").loc["C536368"]
    assert (ret.kind, ret.quantity, ret.product_sku, ret.customer_external_id) == ("return", 2, "85123A", "17850")


def test_a_line_without_a_customer_is_kept_as_an_anonymous_event(retail):
    assert retail.notes["anonymous_lines_kept"] == 1
    assert retail.events.set_index("order_ref").loc["536367"].customer_external_id is None


def test_exactly_repeated_lines_are_counted(retail):
    # given: invoices 536372 and 536373 each repeat a line exactly
    assert retail.notes["repeated_lines"] == 2


def test_london_times_are_converted_to_utc(retail):
    events = retail.events.set_index("order_ref")
    assert retail.notes["timestamps_shifted_from_bst"] == 7  # every kept line from June (BST)
    assert events.loc["536365"].occurred_at == datetime(2010, 12, 1, 8, 26, tzinfo=timezone.utc)  # GMT
    assert events.loc["536366"].occurred_at == datetime(2011, 6, 1, 7, 26, tzinfo=timezone.utc)  # BST -> UTC


def test_products_customers_and_categories_are_derived(retail):
    products = retail.products.set_index("sku")
    assert list(products.index) == ["22139", "85123A"]
    # Name: the most frequent description; price: median of the purchase lines (2.55, 2.95, 2.65).
    assert products.loc["85123A", "name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert products.loc["85123A", "price"] == "2.65"
    assert products.loc["22139", "price"] == "5.45"  # median of 4.95 and 5.95 (repeated lines count once)
    assert products.loc["85123A", "category_slug"] == "lighting-candles-candles"
    assert products.loc["22139", "category_slug"] == "kitchen-dining-tableware"
    customers = retail.customers.set_index("external_id")
    assert customers.country.to_dict() == {"12345": "France", "17850": "United Kingdom"}  # tie -> alphabetical
    assert set(retail.categories.slug) == {"lighting-candles", "lighting-candles-candles", "kitchen-dining",
                                           "kitchen-dining-tableware"}


def test_keyword_categories_take_the_first_matching_rule():
    got = categorise(__import__("pandas").Series(["PAPER CHAIN KIT 50'S CHRISTMAS", "JUMBO BAG RED RETROSPOT",
                                                  "ALARM CLOCK BAKELIKE RED", "SOMETHING ELSE"]))
    assert list(zip(got.root, got.child)) == [("Seasonal", "Christmas"), ("Bags & storage", "Bags"),
                                              ("Home decor", "Wall art & signs"), ("Other", "Other")]


def test_the_cleaned_lines_go_through_the_event_path(db, tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    call_command("load_demo_data", "--path", str(path))
    report = ImportReport.objects.get(kind="demo")
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (13, 6, 5, 2)
    assert Event.objects.filter(customer__isnull=True).count() == 1
    assert Event.objects.filter(kind="return").count() == 1
    call_command("load_demo_data", "--path", str(path))  # only once
    assert ImportReport.objects.filter(kind="demo").count() == 1
