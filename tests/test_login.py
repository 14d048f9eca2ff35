"""Logging in with IIN and password, sessions, logout, rate limits."""

from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, SANDBOX_PASSWORD, csrf_token, log_in


def test_login_page_renders_in_every_language(client):
    for lang in ("kk", "ru", "en"):
        assert client.get(f"/{lang}/login").status_code == 200


def test_login_with_iin_and_password(client):
    response = log_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/en/account"
    page = client.get("/en/account").get_data(as_text=True)
    assert "Sarsenbayeva Aigul" in page
    assert "+77011234567" in page


def test_iin_with_spaces_and_hyphens_is_accepted(client):
    response = log_in(client, iin=" 900517-401 370 ")
    assert response.status_code == 302


def test_wrong_password_keeps_the_iin_and_explains(client):
    response = log_in(client, password="wrong")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error:" in page
    assert "The IIN or password is wrong" in page
    assert f'value="{MOTHER_WITH_BABY}"' in page
    assert 'href="#password"' in page


def test_missing_and_malformed_iin_messages(client):
    page = log_in(client, iin="", password="").get_data(as_text=True)
    assert "Enter your IIN" in page and "Enter your password" in page
    page = log_in(client, iin="12345").get_data(as_text=True)
    assert "IIN must be 12 digits" in page
    page = log_in(client, iin="123456789011").get_data(as_text=True)
    assert "Enter a real IIN" in page


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/en/login", data={"iin": MOTHER_WITH_BABY, "password": SANDBOX_PASSWORD})
    assert response.status_code == 400
    assert "The form came without its security code" in response.get_data(as_text=True)


def test_session_is_rotated_at_login(client):
    client.get("/en/login")
    before = client.get_cookie("qyzmet_session").value
    log_in(client)
    after = client.get_cookie("qyzmet_session").value
    assert before != after


def test_logout_ends_the_session_on_the_server(app, client):
    log_in(client)
    stolen = client.get_cookie("qyzmet_session").value
    token = csrf_token(client, "/en/account")
    response = client.post("/en/logout", data={"csrf_token": token})
    assert response.status_code == 302
    thief = app.test_client()
    thief.set_cookie("qyzmet_session", stolen)
    assert thief.get("/en/account").status_code == 302


def test_logout_needs_post(citizen_client):
    assert citizen_client.get("/en/logout").status_code == 405


def test_next_goes_back_only_to_this_site(client):
    token = csrf_token(client, "/en/login")
    response = client.post(
        "/en/login?next=//evil.example/",
        data={"csrf_token": token, "iin": MOTHER_WITH_BABY, "password": SANDBOX_PASSWORD},
    )
    assert response.headers["Location"] == "/en/account"


def test_account_without_phone_offers_eds(client):
    log_in(client, iin=CITIZEN_WITHOUT_PHONE)
    page = client.get("/en/account").get_data(as_text=True)
    assert "no phone registered" in page
    assert "electronic digital signature" in page


def test_logins_are_rate_limited(client):
    for _ in range(5):
        assert log_in(client, password="wrong").status_code == 200
    response = log_in(client, password="wrong")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_account_needs_login(client):
    response = client.get("/ru/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/ru/login")
