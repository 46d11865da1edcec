def test_home_page_renders(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"INTRALOG" in response.content


def test_admin_login_page_renders(client, db):
    response = client.get("/admin/login/")
    assert response.status_code == 200
