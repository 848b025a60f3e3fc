"""Build the demo network shipped in bot/data/ from the project's public data. Run by developers only.

    python tools/build_demo.py [--shared ../shared/data]

Reads schools_south_east.csv, fsm_2022-23_by_urn.csv and ofsted_sentences.csv and writes
  - demo_schools.csv: 24 real schools in two neighbouring local authorities (Slough and
    Windsor and Maidenhead) in the GIAS establishment CSV format, so that
    `collab schools import bot/data/demo_schools.csv` loads them;
  - demo_posts.csv: for each school, verbatim needs and offers from its latest Ofsted report
    (hand-picked below from the `reliable` sentences to be actionable) plus a few short posts
    written in the way staff type them.
Never imported at runtime: the product reads only the CSV files this writes.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # this script lives in tools/
DEMO_DATA = REPO / "bot" / "data"
DEFAULT_SHARED = REPO.parent / "shared" / "data"

LOCAL_AUTHORITIES = ("Slough", "Windsor and Maidenhead")

# URN -> (need sentence ids, offer sentence ids) from ofsted_sentences.csv (label_quality
# `reliable`), chosen by hand: actionable, a whole thought, not a fragment or a bare verdict.
PICKS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    # Slough: more disadvantaged (FSM up to ~48 %)
    "143327": ((14930, 14929), (14932,)),            # Beechwood School, secondary
    "146820": ((15080, 15081), (15082,)),            # Lynch Hill Enterprise Academy, secondary
    "135631": ((15207, 15208), (15212, 15211)),      # The Langley Academy, secondary
    "142607": ((15005, 15006), (15008, 15007)),      # Haybrook College, alternative provision
    "137010": ((15089, 15088), (15092,)),            # Lynch Hill School Primary Academy
    "138166": ((15097, 15096), (15098, 15099)),      # Marish Primary School
    "139567": ((14972,), (14975, 14974)),            # Colnbrook CofE Primary School
    "138013": ((14957, 14958), (14961, 14962)),      # Cippenham School, primary
    "109995": ((15196,), (15197, 15198)),            # St Mary's CofE Primary School, Slough
    "145741": ((14907, 14908), (14910, 14911)),      # Arbour Vale School, special
    "109763": ((15058, 15059), (15060, 15061)),      # Lea Nursery School
    # Windsor and Maidenhead: mostly less disadvantaged (FSM from ~2 %)
    "138342": ((21421, 21423), (21425, 21424)),      # Altwood CofE School, secondary
    "138879": ((21564, 21563), (21566, 21568)),      # Desborough College, secondary
    "141844": ((21870, 21869), (21872, 21873)),      # The Windsor Boys' School
    "141852": ((21916, 21917), (21919, 21921)),      # Windsor Girls' School
    "136712": ((21689,), (21692, 21690)),            # Lowbrook Academy, primary
    "109938": ((21681, 21680), (21683, 21682)),      # Larchfield Primary and Nursery School
    "142790": ((21548, 21549), (21550, 21552)),      # Dedworth Green First School
    "137788": ((21541, 21542), (21544, 21543)),      # Datchet St Mary's CofE Primary School
    "109907": ((21931,), (21935, 21934)),            # Wraysbury Primary School
    "109843": ((21742, 21741), (21745, 21744)),      # South Ascot Village Primary School
    "110019": ((21811, 21809), (21813, 21814)),      # St Michael's CofE Primary, Sunninghill
    "109961": ((21630,), (21632, 21631)),            # Holy Trinity CofE Primary, Cookham
    "139882": ((21795,), (21800, 21799)),            # St Mary's Catholic Primary, Maidenhead
}

# Short posts as a deputy head or SENCo would type them, each in keeping with that school's report.
# The third value is the theme its poster chose (staff confirm or change our suggestion when they
# post); the Ofsted sentences keep our suggestion (bot/services/rounds.py:given_theme says how a round uses it).
# An offer's places per term are 1 unless a fifth value says otherwise.
WRITTEN: list[tuple] = [
    ("143327", "need", "attendance",
     "Need help with persistent absence in Year 9. First-day calling isn't shifting our "
     "most stubborn cases - would love to talk to a school that has cracked it."),
    ("142790", "need", "attendance",
     "Could do with advice on getting our disadvantaged families to attend more "
     "regularly. We've tried breakfast club and rewards; what else works?"),
    ("138879", "need", "send",
     "Looking for someone to run an INSET on adapting lessons for pupils with SEND - "
     "ideally a school that's a step ahead of us on this."),
    ("136712", "offer", "reading",
     "We can share our phonics scheme and train your TAs: half a day in school or two "
     "twilight sessions online."),
    ("141852", "offer", "send",
     "Our nurture group lead is happy to host a visit and talk through how we run "
     "nurture groups for Year 7 and 8 pupils with SEND."),
    ("138013", "offer", "early_years",
     "Happy to show another school how we settle Reception children in September - "
     "home visits, staggered starts, the lot."),
    ("142607", "offer", "post16_careers",
     "We can share our careers programme for pupils in alternative provision, "
     "including how we line up work experience."),
    # No school in the demo has an Ofsted "does well" sentence on attendance, which is the most
    # common need here: two written offers so the demo shows how such a need is met.
    # Two places: the README's own example (a deputy head asking about persistent absence in Year
    # 9) should be met in the demo, and the school with the most pupils on free school meals,
    # whose Ofsted need also names persistent absence, is served first.
    ("141844", "offer", "attendance",
     "Our attendance officer can share the first-day calling and family liaison routine "
     "that brought persistent absence down, and meet your attendance lead.", 2),
    ("137010", "offer", "attendance",
     "We can walk you through how we work with families on attendance: early help "
     "meetings, a weekly attendance panel and rewards pupils care about."),
]

# The GIAS establishment CSV columns we can fill honestly, in GIAS's own order.
GIAS_COLUMNS = (
    "URN", "LA (name)", "EstablishmentName", "TypeOfEstablishment (name)", "EstablishmentStatus (name)",
    "PhaseOfEducation (name)", "NumberOfPupils", "PercentageFSM", "Trusts (name)", "Town", "Postcode",
    "Easting", "Northing",
)
POST_COLUMNS = ("school_urn", "kind", "text", "source", "capacity", "theme")  # capacity: offers only


# ----- WGS84 latitude/longitude -> British National Grid (OSGB36) ------------------------
# Ordnance Survey, "A guide to coordinate systems in Great Britain": a 7-parameter Helmert
# transformation WGS84 -> OSGB36 (accurate to a few metres), then the Transverse Mercator
# projection on the Airy 1830 ellipsoid with the National Grid's true origin and false origin.

WGS84 = (6378137.000, 6356752.3141)
AIRY1830 = (6377563.396, 6356256.909)
# WGS84 -> OSGB36: tx, ty, tz (m), s (ppm), rx, ry, rz (arc-seconds)
HELMERT = (-446.448, 125.157, -542.060, 20.4894, -0.1502, -0.2470, -0.8421)
F0 = 0.9996012717
LAT0, LON0 = math.radians(49.0), math.radians(-2.0)
E0, N0 = 400000.0, -100000.0


def _to_cartesian(lat: float, lon: float, height: float, a: float, b: float) -> tuple[float, float, float]:
    e2 = 1 - (b * b) / (a * a)
    nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    return ((nu + height) * math.cos(lat) * math.cos(lon),
            (nu + height) * math.cos(lat) * math.sin(lon),
            ((1 - e2) * nu + height) * math.sin(lat))


def _to_geodetic(x: float, y: float, z: float, a: float, b: float) -> tuple[float, float]:
    e2 = 1 - (b * b) / (a * a)
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
        lat = math.atan2(z + e2 * nu * math.sin(lat), p)
    return lat, math.atan2(y, x)


def _helmert(x: float, y: float, z: float) -> tuple[float, float, float]:
    tx, ty, tz, s, rx, ry, rz = HELMERT
    s = s * 1e-6
    rx, ry, rz = (math.radians(r / 3600) for r in (rx, ry, rz))
    return (tx + (1 + s) * x - rz * y + ry * z,
            ty + rz * x + (1 + s) * y - rx * z,
            tz - ry * x + rx * y + (1 + s) * z)


def _transverse_mercator(lat: float, lon: float) -> tuple[float, float]:
    a, b = AIRY1830
    e2 = 1 - (b * b) / (a * a)
    n = (a - b) / (a + b)
    sin, cos, tan = math.sin(lat), math.cos(lat), math.tan(lat)
    nu = a * F0 / math.sqrt(1 - e2 * sin ** 2)
    rho = a * F0 * (1 - e2) / (1 - e2 * sin ** 2) ** 1.5
    eta2 = nu / rho - 1
    dlat, slat = lat - LAT0, lat + LAT0
    m = b * F0 * (
        (1 + n + 5 / 4 * n ** 2 + 5 / 4 * n ** 3) * dlat
        - (3 * n + 3 * n ** 2 + 21 / 8 * n ** 3) * math.sin(dlat) * math.cos(slat)
        + (15 / 8 * n ** 2 + 15 / 8 * n ** 3) * math.sin(2 * dlat) * math.cos(2 * slat)
        - 35 / 24 * n ** 3 * math.sin(3 * dlat) * math.cos(3 * slat)
    )
    i = m + N0
    ii = nu / 2 * sin * cos
    iii = nu / 24 * sin * cos ** 3 * (5 - tan ** 2 + 9 * eta2)
    iiia = nu / 720 * sin * cos ** 5 * (61 - 58 * tan ** 2 + tan ** 4)
    iv = nu * cos
    v = nu / 6 * cos ** 3 * (nu / rho - tan ** 2)
    vi = nu / 120 * cos ** 5 * (5 - 18 * tan ** 2 + tan ** 4 + 14 * eta2 - 58 * tan ** 2 * eta2)
    dlon = lon - LON0
    northing = i + ii * dlon ** 2 + iii * dlon ** 4 + iiia * dlon ** 6
    easting = E0 + iv * dlon + v * dlon ** 3 + vi * dlon ** 5
    return easting, northing


def wgs84_to_bng(latitude: float, longitude: float) -> tuple[float, float]:
    """(easting, northing) in metres on the British National Grid for a WGS84 lat/long."""
    x, y, z = _to_cartesian(math.radians(latitude), math.radians(longitude), 0.0, *WGS84)
    lat, lon = _to_geodetic(*_helmert(x, y, z), *AIRY1830)
    return _transverse_mercator(lat, lon)


# ----- building the files -----------------------------------------------------------------

def gias_phase(phase: str, school_type: str, name: str) -> str:
    """schools_south_east's phase -> GIAS PhaseOfEducation (name)."""
    kind = school_type.lower()
    if "nursery school" in kind:
        return "Nursery"
    if phase == "all-through" and any(w in kind for w in ("special", "alternative provision", "pupil referral")):
        return "Not applicable"  # GIAS gives special schools and PRUs no phase
    if "middle" in name.lower():
        return "Middle deemed secondary"
    return {
        "primary": "Primary", "infant": "Primary", "junior": "Primary",
        "secondary": "Secondary", "ks3": "Secondary", "ks4": "Secondary",
        "all-through": "All-through",
    }.get(phase, "Not applicable")


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def build(shared: Path, out: Path) -> tuple[int, int]:
    schools = {r["urn"]: r for r in read_csv(shared / "schools_south_east.csv")}
    fsm = {r["urn"]: r["fsm_prop"] for r in read_csv(shared / "fsm_2022-23_by_urn.csv")}
    sentences = {int(r["sentence_id"]): r for r in read_csv(shared / "ofsted_sentences.csv")}
    trusts = {r["URN"]: r["responsible_body_trust"] for r in read_csv(shared / "trust_aet_schools.csv")}

    school_rows = []
    for urn in PICKS:
        s = schools[urn]
        assert s["local_authority"] in LOCAL_AUTHORITIES and s["sector"] == "state", urn
        easting, northing = wgs84_to_bng(float(s["latitude"]), float(s["longitude"]))
        share = fsm.get(urn, "z")
        town = s["town"].title() if s["town"].isupper() else s["town"]
        school_rows.append({
            "URN": urn,
            "LA (name)": s["local_authority"],
            "EstablishmentName": s["school_name"],
            "TypeOfEstablishment (name)": s["school_type"],
            "EstablishmentStatus (name)": "Open",
            "PhaseOfEducation (name)": gias_phase(s["phase"], s["school_type"], s["school_name"]),
            "NumberOfPupils": s["pupils_on_roll"],
            "PercentageFSM": "" if share in ("z", "") else share,
            # Only from a source that says so (DfE's list of one trust's schools); never guessed.
            "Trusts (name)": trusts.get(urn, "").title(),
            "Town": town,
            "Postcode": s["postcode"],
            "Easting": f"{easting:.0f}",
            "Northing": f"{northing:.0f}",
        })

    post_rows = []
    for urn, (needs, offers) in PICKS.items():
        for kind, ids in (("need", needs), ("offer", offers)):
            for sentence_id in ids:
                sentence = sentences[sentence_id]
                assert sentence["urn"] == urn and sentence["kind"] == kind, sentence_id
                assert sentence["label_quality"] == "reliable", sentence_id
                post_rows.append({"school_urn": urn, "kind": kind, "text": sentence["text"].strip(),
                                  "source": "ofsted", "capacity": 1 if kind == "offer" else "", "theme": ""})
    for urn, kind, theme, text, *places in WRITTEN:
        assert urn in PICKS, urn
        post_rows.append({"school_urn": urn, "kind": kind, "text": text, "source": "written",
                          "capacity": (places[0] if places else 1) if kind == "offer" else "", "theme": theme})

    # As GIAS writes it: every field quoted, CRLF, Windows-1252.
    with (out / "demo_schools.csv").open("w", encoding="cp1252", newline="") as handle:
        writer = csv.DictWriter(handle, GIAS_COLUMNS, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(sorted(school_rows, key=lambda r: (r["LA (name)"], r["EstablishmentName"])))
    with (out / "demo_posts.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, POST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(post_rows)
    return len(school_rows), len(post_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help=f"folder with the project's public data (default: {DEFAULT_SHARED})")
    parser.add_argument("--out", type=Path, default=DEMO_DATA, help="where to write the demo files (default: bot/data)")
    args = parser.parse_args(argv)
    if not (args.shared / "schools_south_east.csv").exists():
        print(f"build_demo: {args.shared} has no schools_south_east.csv; pass --shared", file=sys.stderr)
        return 2
    schools, posts = build(args.shared, args.out)
    print(f"wrote {schools} schools and {posts} posts to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
