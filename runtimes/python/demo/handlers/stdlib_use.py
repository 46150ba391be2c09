import csv, xml.etree.ElementTree, decimal, datetime, uuid, hashlib, re
import io
import sys
# Modules that are not in the snapshot: imported from the mounted .pyc at Init.
import xml.sax, email.mime.text, json.tool, encodings.cp1252, graphlib, sqlite3, zoneinfo


def lambda_handler(event, context):
    rows = list(csv.DictReader(io.StringIO("a,b\n1,2\n3,4\n")))
    root = xml.etree.ElementTree.fromstring("<r><i v='1'/><i v='2'/></r>")
    total = sum(decimal.Decimal(r["a"]) + decimal.Decimal(r["b"]) for r in rows) / decimal.Decimal(3)
    when = datetime.datetime(2024, 2, 29, 12, 0, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
    u = uuid.uuid4()
    digest = hashlib.sha256(b"lambkin").hexdigest()
    m = re.fullmatch(r"(\w+)-(\d+)", "python-314")
    msg = email.mime.text.MIMEText("hi")
    con = sqlite3.connect(":memory:")
    con.execute("create table t(x)")
    con.execute("insert into t values (42)")
    cp = "é".encode("cp1252")
    import wave  # a lazy import, at invocation time
    return {
        "ok": True,
        "csv": rows,
        "xml": [i.get("v") for i in root],
        "decimal": str(total.quantize(decimal.Decimal("0.001"))),
        "date": when.isoformat(),
        "uuid_version": u.version,
        "sha256": digest,
        "re": m.groups(),
        "mime": msg["Content-Type"],
        "sqlite": con.execute("select x from t").fetchone()[0],
        "cp1252": cp.hex(),
        "toposort": list(graphlib.TopologicalSorter({"b": {"a"}}).static_order()),
        "where": {"xml.sax": xml.sax.__file__, "json": sys.modules["json"].__file__},
    }
