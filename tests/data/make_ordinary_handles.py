"""Writes tests/data/ordinary_handles.txt: handles of people and organisations unrelated to the Trust.

Deterministic (a seeded random.Random over the word lists here), so the file is the same on every
run: ``.venv/bin/python tests/data/make_ordinary_handles.py``. The lookalike tests read the file and
check that next to none of these is reported as imitating the Trust's official handles.
"""

from __future__ import annotations

import random
from pathlib import Path


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "alice amir anna ben carys chloe dan deepa emma ewan fatima finn grace harry isla jack jade james "
    "kate leo lily liam maya mohammed noah olivia omar priya rhys rosie sam sara tom yusuf zara zoe "
    "gareth sian niamh aoife callum hamish kirsty ravi sunita wei mei jakub agnieszka tariq"
)
SURNAME = _words(
    "smith jones taylor brown williams wilson johnson davies patel wright khan evans thomas roberts "
    "walker white edwards green hall wood harris clarke lewis jackson hughes turner hill moore ahmed "
    "begum singh kaur murphy kelly okafor mensah nowak kowalski chen wong price morgan griffiths"
)
WORDS = _words(
    "sunny quiet happy little purple golden silver wild urban coastal northern green blue red "
    "garden kitchen cycling running baking knitting coffee bookshop vinyl retro pixel lunar solar "
    "fox badger otter robin wren hedgehog panda tiger falcon dragon river valley meadow harbour "
    "studio lab works collective club crew society podcast journal diary photos travels adventures"
)
PLACES = _words(
    "oxford reading slough milton keynes aylesbury wycombe high bedford luton watford swindon bristol "
    "leeds york hull derby leicester norwich ipswich exeter truro plymouth cardiff swansea belfast "
    "glasgow dundee aberdeen brighton hastings kent surrey essex devon cornwall dorset somerset "
    "manchester liverpool sheffield newcastle sunderland durham carlisle lancaster preston blackpool"
)
ORGANISATION = _words(
    "council cc fc rfc library museum theatre news live fm radio gazette echo chronicle police fire "
    "bakery butchers florist deli cafe pub inn hotel garage dental vets pharmacy gp surgery school "
    "college uni sixthform scouts guides wi rotary foodbank hospice choir rugby cricket netball"
)
#: Real-world style handles of other NHS bodies, councils, charities, shops and media.
OTHERS = _words(
    """
nhsengland nhsuk nhs111 nhsblood nhsbt nhsemployers nhsconfed nhsproviders nhsdigital nhsbsa
oxfordhealthnhs ouhospitals royalberkshire frimleyhealth uhbristol leedsth nuhtrust sheffieldchildren
gosh_nhs guysstthomas kingshospital imperialnhs uclh barts_health lewishamgreenwich moorfields
royalmarsden royalfreenhs nwlondonics berkshirehealth southernhealthnhs solent_nhs sussexcommunity
mkuh_nhs bedfordhospital lutondunstable eastandnorthherts westhertshosp enhertsnhs kentcht
nottsheathcare lincolnshirecc nottinghamcity derbyshirecc leicspart uhleicester uhnm_nhs
bucksfire buckscouncil bucksfreepress buckinghamshire bucks_fa bucksherald bucksnewuni
wycombewanderers aylesburyutd mkcouncil mkdons miltonkeynescitizen oxfordshirecc readingfc
macmillancancer bhf_uk mindcharity samaritans cancerresearchuk britishredcross stjohnambulance
ageuk alzheimerssoc diabetesuk asthmalungsuk scope mencap shelter crisis_uk oxfamgb
tesco sainsburys asda boots_uk superdrug waitrose marksandspencer argos johnlewis lidlgb aldiuk
bbcnews bbcbreaking skynews itvnews guardian thetimes telegraph independent metrouk
theroyalfamily ukparliament 10downingstreet govuk dhscgovuk ukhsa metpoliceuk
"""
)


def handles() -> list[str]:
    rng = random.Random(13)
    made: set[str] = set(OTHERS)
    separators = ("", "_", ".")
    while len(made) < 3000:
        kind = rng.randrange(5)
        sep = rng.choice(separators)
        if kind == 0:
            handle = f"{rng.choice(FIRST)}{sep}{rng.choice(SURNAME)}"
            if rng.random() < 0.5:
                handle += str(rng.randrange(1, 2000))
        elif kind == 1:
            handle = f"{rng.choice(WORDS)}{sep}{rng.choice(WORDS)}"
        elif kind == 2:
            handle = f"{rng.choice(PLACES)}{sep}{rng.choice(ORGANISATION)}"
        elif kind == 3:
            handle = f"the{sep}{rng.choice(WORDS)}{sep}{rng.choice(ORGANISATION)}"
        else:
            handle = f"{rng.choice(FIRST)}{sep}{rng.choice(WORDS)}{rng.randrange(10, 100)}"
        made.add(handle[:30].strip("._"))
    return sorted(made)


if __name__ == "__main__":
    target = Path(__file__).with_name("ordinary_handles.txt")
    header = (
        "# Handles unrelated to the Trust: people, other NHS bodies, councils, charities, shops, media.\n"
        "# Made by tests/data/make_ordinary_handles.py (deterministic); read by tests/test_lookalike.py.\n"
    )
    target.write_text(header + "\n".join(handles()) + "\n", encoding="utf-8")
