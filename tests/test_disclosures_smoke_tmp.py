import pytest

@pytest.mark.world("disclosures")
def test_smoke(app, two_companies, login_as):
    a, b = two_companies
    c = app.test_client()
    for url in [f"/p/{a.company.slug}/disclosures/", f"/p/{a.company.slug}/disclosures/{a.ids['community_id']}",
                f"/p/{a.company.slug}/disclosures/{a.ids['community_id']}/print",
                f"/p/{a.company.slug}/disclosures/{a.ids['community_id']}/poster",
                f"/p/{a.company.slug}/disclosures/{a.ids['community_id']}/publications/{a.ids['publication_id']}"]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.data[-3000:])
    adm = login_as(a.admin)
    for url in ["/disclosures/", f"/disclosures/communities/{a.ids['community_id']}", f"/disclosures/publications/{a.ids['publication_id']}"]:
        r = adm.get(f"/c/{a.company.slug}{url}")
        assert r.status_code == 200, (url, r.data[-3000:])
    own = login_as(a.owner)
    r = own.get(f"/c/{a.company.slug}/disclosures/lines/{a.ids['line_id']}/objection")
    assert r.status_code == 200, r.data[-2000:]
