"""The sandbox's list of test citizens."""


def test_citizens_page_lists_every_test_citizen(client):
    response = client.get("/sandbox/citizens", headers={"Accept-Language": "ru"})
    assert response.headers["Location"] == "/ru/sandbox/citizens"
    page = client.get("/en/sandbox/citizens").get_data(as_text=True)
    data = client.get("/sandbox/citizens.json").get_json()
    assert len(data) >= 12
    for citizen in data:
        assert citizen["iin"] in page
        assert citizen["password"]
    assert sum(1 for c in data if not c["phone"]) >= 2
    assert all(c["good_for"] for c in data)


def test_every_listed_citizen_can_log_in(app):
    from tests.conftest import log_in

    for citizen in app.test_client().get("/sandbox/citizens.json").get_json():
        client = app.test_client()
        assert log_in(client, citizen["iin"], citizen["password"]).status_code == 302, citizen["iin"]
