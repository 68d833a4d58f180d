"""The OpenAPI document and the interactive docs: complete, described, and working with no internet access."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _operations(schema: dict):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_given_the_openapi_document_when_read_then_every_operation_is_under_v1_summarised_tagged_and_secured(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Linli 邻里 API"
    operations = list(_operations(schema))
    assert len(operations) >= 40
    for path, method, op in operations:
        assert path.startswith("/api/v1/"), path
        assert op.get("summary"), (method, path)
        assert op.get("tags"), (method, path)
        assert op.get("security") == [{"TokenAuth": []}, {"SessionAuth": []}], (method, path)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def test_given_the_document_when_read_then_creations_answer_201_removals_204_and_ids_are_64_bit_keys(schema):
    ops = {(method.upper(), path): op for path, method, op in _operations(schema)}
    assert "201" in ops[("POST", "/api/v1/residents")]["responses"]
    assert "204" in ops[("DELETE", "/api/v1/emergency-contacts/{contact_id}")]["responses"]
    resident = schema["components"]["schemas"]["ResidentCreate"]["properties"]
    assert (resident["place_id"]["minimum"], resident["place_id"]["maximum"]) == (1, 2**63 - 1)
    assert set(resident) >= {"name", "id_number", "phone", "relation", "tags"}
    detail = schema["components"]["schemas"]["ResidentDetail"]["properties"]
    assert {"id_mask", "phone_mask"} <= set(detail)
    assert not {"id_number", "phone"} & set(detail)  # full values only through the audited reveal


def test_given_no_internet_when_the_docs_page_loads_then_every_asset_is_served_by_the_platform_itself(db):
    client = Client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/static/ninja/swagger-ui.css", "/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui-init.js"} <= set(
        assets)
    assert not [a for a in assets if "//" in a]  # no CDN, no absolute URL of any host
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content])
    settings = re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1)
    assert '"validatorUrl": null' in settings  # Swagger UI would otherwise call validator.swagger.io
    assert '"url": "/api/v1/openapi.json"' in settings
