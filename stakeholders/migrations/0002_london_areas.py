"""Load London, its five ICS sub-regions and the 33 boroughs from data/london_areas.csv."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "london_areas.csv"

LONDON = ("E12000007", "LDN", "London")
# Census 2021 London total, rounded to the nearest 100 like the boroughs. The sum of the
# rounded boroughs is 8,799,900: rounding each part does not add up to the rounded whole.
LONDON_POPULATION = 8_799_800
# ONS codes of the five London integrated care boards (ICBs), July 2022.
SUB_REGIONS = {
    "NCL": ("E54000028", "North Central London"),
    "NEL": ("E54000029", "North East London"),
    "NWL": ("E54000027", "North West London"),
    "SEL": ("E54000030", "South East London"),
    "SWL": ("E54000031", "South West London"),
}


def load(apps, schema_editor):
    Area = apps.get_model("stakeholders", "Area")
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    london, _ = Area.objects.update_or_create(
        code=LONDON[0],
        defaults={
            "short_code": LONDON[1],
            "name": LONDON[2],
            "level": "london",
            "population": LONDON_POPULATION,
        },
    )
    subs = {}
    for short, (code, name) in SUB_REGIONS.items():
        population = sum(int(r["population_2021"]) for r in rows if r["sub_region"] == short)
        subs[short], _ = Area.objects.update_or_create(
            code=code,
            defaults={
                "short_code": short,
                "name": name,
                "level": "sub_region",
                "parent": london,
                "population": population,
            },
        )
    for r in rows:
        Area.objects.update_or_create(
            code=r["gss_code"],
            defaults={
                "short_code": r["tile_label"],
                "name": r["name"],
                "level": "borough",
                "parent": subs[r["sub_region"]],
                "inner_london": r["inner_london"] == "true",
                "tile_col": int(r["tile_col"]),
                "tile_row": int(r["tile_row"]),
                "population": int(r["population_2021"]),
            },
        )


def unload(apps, schema_editor):
    apps.get_model("stakeholders", "Area").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
