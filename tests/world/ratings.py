"""The red/black list: the world's owner has rated the company (as an owner of 40 days), the
company has replied, a flag and an appeal are open, and the nightly job has run (profile, figures, ranking).
URL parameters: rating_id (the review), appeal_id (the appeal)."""

from __future__ import annotations

from datetime import timedelta

PROVIDES = ("rating_id", "appeal_id")


def backdate_owner(app, world, days: int = 40) -> None:
    from sqlalchemy import select

    from saas.extensions import db
    from saas.tenancy import company_context, utcnow
    from tenants.roster.models import HouseholdOwner

    with app.app_context(), company_context(world.company.id):
        for link in db.session.execute(select(HouseholdOwner)).scalars():
            link.verified_at = utcnow() - timedelta(days=days)
            link.created_at = utcnow() - timedelta(days=days)
        db.session.commit()


def rate(app, world, *, overall=4, comment="", household_id=None, user=None, **scores):
    """A rating by the world's owner (or ``user``) for the household, through the service."""
    from saas.clock import local_today
    from saas.extensions import db
    from saas.models import User
    from saas.ratings import services

    values = {"overall": overall, "repairs": 4, "cleanliness": 4, "communication": 4, "fees": 4, **scores}
    with app.app_context():
        rating = services.submit_rating(
            company_id=world.company.id, household_id=household_id or world.owner_household_id,
            user=db.session.get(User, (user or world.owner).id),
            owner_since=local_today() - timedelta(days=40), community_name=f"{world.company.name}小区",
            is_staff=False, former_staff=False, scores=values, comment=comment)
        db.session.commit()
        return rating.id


def build(app, world) -> dict:
    from saas.extensions import db
    from saas.models import User
    from saas.ratings import job, services
    from saas.ratings.models import OwnerRating

    # Through the service with the owner's "since" given, so the world's household link keeps its dates (other
    # modules' pages show them); tests of who may rate backdate the link themselves (backdate_owner).
    rating_id = rate(app, world, comment=f"{world.company.name} 的服务还行")
    from saas.tenancy import company_context

    # The company's reply and appeal write its own audit log too: in its context, as the views run them.
    with app.app_context(), company_context(world.company.id):
        rating = db.session.get(OwnerRating, rating_id)
        admin = db.session.get(User, world.admin.id)
        services.reply(rating, company_id=world.company.id, body=f"{world.company.name} 谢谢您", actor=admin)
        services.flag(rating, "abuse")
        appeal = services.file_appeal(company_id=world.company.id, statement="评价不实", evidence="工单记录",
                                      actor=admin, rating=rating)
        db.session.commit()
        appeal_id = appeal.id
    with app.app_context():
        job.run_all()
    return {"rating_id": rating_id, "appeal_id": appeal_id}


def seed_profiles(app, companies: int, *, reviews: int = 30) -> None:
    """``companies`` companies straight into the platform tables as the job leaves them (profiles, list entries,
    the weekly ranking, quarters and reviews of the first): what the public pages read. For statement counts and
    bench/ratings_bench.py."""
    import uuid

    from saas.clock import local_today, utcnow
    from saas.extensions import db
    from saas.models import Company, User
    from saas.ratings.figures import quarter_of
    from saas.ratings.job import week_start
    from saas.ratings.models import (
        CompanyRatingProfile,
        ListEntry,
        OwnerRating,
        QuarterFigures,
        RatingReply,
        WeeklyRank,
    )

    today = local_today()
    quarter, _ = quarter_of(today)
    now = utcnow()
    with app.app_context():
        user = User(name="评价人", phone=None, password_hash="x")
        db.session.add(user)
        companies_rows, profiles, entries, ranks = [], [], [], []
        for i in range(companies):
            cid = uuid.uuid4()
            city = ("杭州市", "宁波市", "温州市")[i % 3]
            score = 50 + (i * 7) % 50
            grade = "AAA" if score >= 85 else "AA" if score >= 80 else "A" if score >= 70 else "B" if score >= 60 else "C"
            companies_rows.append({"id": cid, "slug": f"bench-{i}", "name": f"测试{i}物业", "created_at": now})
            profiles.append({"id": uuid.uuid4(), "company_id": cid, "slug": f"bench-{i}", "name": f"测试{i}物业", "city": city,
                             "score": score, "grade": grade, "sample_size": 40, "quarter_start": quarter,
                             "rules_version": 1, "published": True, "updated_at": now})
            if grade in ("AAA", "AA", "C"):
                entries.append({"id": uuid.uuid4(), "company_id": cid, "kind": "red" if grade != "C" else "black",
                                "city": city, "company_name": f"测试{i}物业", "slug": f"bench-{i}", "grade": grade,
                                "score": score, "reason": "", "evidence": "", "rules_version": 1, "listed_at": now,
                                "renewed_at": now, "expires_at": now + timedelta(days=365), "end_reason": ""})
            ranks.append({"id": uuid.uuid4(), "week_start": week_start(today), "company_id": cid, "city": city,
                          "rank": i // 3 + 1, "company_name": f"测试{i}物业", "slug": f"bench-{i}", "score": score,
                          "grade": grade, "rules_version": 1})
        db.session.execute(Company.__table__.insert(), companies_rows)
        db.session.execute(CompanyRatingProfile.__table__.insert(), profiles)
        if entries:
            db.session.execute(ListEntry.__table__.insert(), entries)
        db.session.execute(WeeklyRank.__table__.insert(), ranks)
        first = companies_rows[min(1, companies - 1)]["id"]
        db.session.flush()
        for q in range(4):
            db.session.add(QuarterFigures(company_id=first, quarter_start=quarter - timedelta(days=92 * q),
                                          figures={}, sample_size=10, score=80, grade="AA", rules_version=1,
                                          parts={"owner": {"value": 80, "weight": 100, "count": 10, "raw": 4.2}}))
        for n in range(reviews):
            rating = OwnerRating(company_id=first, household_id=uuid.uuid4(), user_id=user.id,
                                 quarter_start=quarter, overall=4, repairs=4, cleanliness=4, communication=4, fees=4,
                                 comment=f"评价{n}", owner_since=today - timedelta(days=400), community_name="某小区")
            db.session.add(rating)
            db.session.flush()
            db.session.add(RatingReply(rating_id=rating.id, company_id=first, version=1, body="谢谢"))
        db.session.commit()
