"""Deterministic example data for docs/examples/wigan_lot3 (written once, committed as CSV).

Run `python docs/examples/wigan_lot3/make_data.py` to write the CSV files again; the same
seed gives the same rows. The exceptions the tutorial talks about are placed by hand below.
"""

import csv
import datetime as dt
import random
from pathlib import Path

rng = random.Random(20190701)
out = Path(__file__).parent
practices = ["P92001", "P92002", "P92003", "P92004", "P92005"]
gender = ["female", "male", "female", "male", "not stated"]
people = []
for i in range(1, 37):
    age = rng.choice([24, 31, 38, 45, 52, 59, 66, 71, 78, 84])
    dob = dt.date(2019 - age, rng.randint(1, 12), rng.randint(1, 28))
    people.append(
        dict(
            individual_id=f"CLW{i:04d}",
            date_of_birth=dob.isoformat(),
            gender=rng.choice(gender),
            gp_practice_code=rng.choice(practices),
            registered_wigan_gp="yes",
            carer=rng.choice(["yes", "no", "no", "no"]),
            armed_forces=rng.choice(["none"] * 8 + ["veteran", "not recorded"]),
        )
    )
# Hand-placed exceptions, so the example evaluation has something to show:
people[7]["date_of_birth"] = "2002-11-20"  # 17 at referral
people[12]["registered_wigan_gp"] = "no"  # registered outside the borough
settings = (
    [("primary care", "gp")] * 9
    + [("primary care", "practice nurse")] * 3
    + [("primary care", "other practice staff")] * 2
    + [("sdf huddle", "integrated care team")] * 3
    + [("community care", "integrated care team")] * 2
    + [("integrated discharge team", "hospital clinical team")] * 3
    + [("partner organisation", "partner organisation")] * 2
)
issues = [
    "social isolation",
    "bereavement",
    "low level anxiety",
    "low level mental health",
    "debt",
    "housing",
    "unemployment",
    "alcohol or drugs",
]
referrals, contacts = [], []
start = dt.datetime(2019, 7, 1, 9, 0)
n = 0
for i, person in enumerate(people):
    n += 1
    received = start + dt.timedelta(days=int(i * 9.8) + rng.randint(0, 3), hours=rng.randint(0, 7))
    if received.weekday() >= 5:
        received += dt.timedelta(days=7 - received.weekday())
    setting, source = rng.choice(settings)
    if i in (4, 19, 30):
        setting, source = "integrated discharge team", "hospital clinical team"
    carer_family = i in (21,)
    row = dict(
        referral_id=f"R{n:05d}",
        individual_id=person["individual_id"],
        received_at=received.strftime("%Y-%m-%d %H:%M"),
        setting=setting,
        referral_source=source,
        gp_practice_code=person["gp_practice_code"],
        carer_or_family="yes" if carer_family else "no",
        accepted="yes",
        first_response_at="",
        first_appointment_on="",
        presenting_issue=rng.choice(issues),
        support_ended_on="",
    )
    if setting == "integrated discharge team":
        delay = dt.timedelta(hours=30) if i == 19 else dt.timedelta(hours=rng.randint(1, 6))
        row["first_response_at"] = (received + delay).strftime("%Y-%m-%d %H:%M")
        first = (received + delay).date() + dt.timedelta(days=rng.randint(2, 10))
    else:
        wait = rng.randint(2, 7)
        if i in (10, 26):
            wait = 9  # late: appointment on day 9
        first = received.date() + dt.timedelta(days=wait)
    if i == 33:
        first = None  # no appointment yet recorded
    else:
        row["first_appointment_on"] = first.isoformat()
    if first is not None and i % 3 != 2:
        months = 7 if i == 6 else rng.randint(1, 5)
        end = first + dt.timedelta(days=30 * months)
        if end <= dt.date(2020, 6, 30):
            row["support_ended_on"] = end.isoformat()
    referrals.append(row)
    if first is None:
        continue
    attended_first = i % 7 != 3
    when = dt.datetime.combine(first, dt.time(10 + rng.randint(0, 5), 0))
    visits = [(when, True, attended_first)]
    if not attended_first:
        visits.append((when + dt.timedelta(days=7), False, True))
    for _ in range(rng.randint(1, 3)):
        visits.append(
            (visits[-1][0] + dt.timedelta(days=rng.randint(10, 25)), False, rng.random() > 0.1)
        )
    for when, is_first, attended in visits:
        if when.date() > dt.date(2020, 6, 30):
            continue
        contacts.append(
            dict(
                contact_id=f"C{len(contacts) + 1:05d}",
                referral_id=row["referral_id"],
                contact_at=when.strftime("%Y-%m-%d %H:%M"),
                mode=rng.choice(["face to face", "face to face", "telephone"]),
                first_contact="yes" if is_first else "no",
                attended="yes" if attended else "no",
                minutes_spent=rng.choice([30, 45, 45, 60, 60, 75, 90]) if attended else "",
            )
        )
case_studies = [
    dict(case_study_id=f"CS{k}", submitted_on=d, perspective=p)
    for k, (d, p) in enumerate(
        [
            ("2019-10-15", "patient"),
            ("2019-10-15", "practice staff"),
            ("2020-01-14", "patient"),
            ("2020-01-14", "voluntary and community sector"),
            ("2020-04-16", "clinician"),
        ],
        start=1,
    )
]


def write(name, rows):
    with open(f"{out}/{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


write("individuals", people)
write("referrals", referrals)
write("contacts", contacts)
write("case_studies", case_studies)
print(len(people), len(referrals), len(contacts))
