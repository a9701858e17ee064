"""Uploads and downloads through S3 (django-storages) against a real S3 server on loopback.

moto runs in server mode on 127.0.0.1: boto3 talks HTTP to it exactly as to S3, so nothing
about the storage layer is mocked.
"""

import socket
import urllib.request

import boto3
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from proposals import submission
from tests.helpers.proposals import complete_answers, pdf_upload

pytestmark = pytest.mark.django_db

BUCKET = "rfp-portal-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_endpoint, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    from rfp_portal import config

    settings.STORAGES = {
        **settings.STORAGES,
        "default": config.storage_config(
            {
                "AWS_STORAGE_BUCKET_NAME": BUCKET,
                "AWS_S3_ENDPOINT_URL": s3_endpoint,
                "AWS_S3_REGION_NAME": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
        ),
    }
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])


def test_upload_submit_and_download_through_s3(s3_storage, client, open_rfp, proposer):
    assert type(default_storage._wrapped).__name__ == "S3Storage" or hasattr(
        default_storage, "bucket_name"
    )
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="On S3", now=timezone.now()
    )
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="On S3",
        fields=complete_answers(open_rfp),
        document=pdf_upload(3),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [proposal.document.name]
    assert keys[0].startswith(f"proposals/{open_rfp.pk}/") and "proposal" not in keys[0][12:]
    acl = s3_storage.get_object_acl(Bucket=BUCKET, Key=keys[0])
    assert all(g["Grantee"].get("URI", "").endswith("AllUsers") is False for g in acl["Grants"])

    version = submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    ).version
    client.force_login(proposer)
    response = client.get(reverse("version_document", args=[proposal.pk, version.number]))
    assert response.status_code == 302
    url = response.url
    assert url.startswith("http://127.0.0.1:") and "Signature=" in url and "Expires=" in url
    assert "response-content-disposition=attachment" in url
    with urllib.request.urlopen(url, timeout=10) as fetched:  # noqa: S310  loopback test server
        body = fetched.read()
        disposition = fetched.headers["Content-Disposition"]
    assert body.startswith(b"%PDF-") and disposition.startswith("attachment")
    import hashlib

    assert hashlib.sha256(body).hexdigest() == version.document_sha256


def test_s3_download_is_refused_to_someone_outside_the_team(s3_storage, client, open_rfp, proposer):
    from tests.factories import UserFactory

    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Private", now=timezone.now()
    )
    submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="Private",
        fields={},
        document=pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    client.force_login(UserFactory())
    assert client.get(reverse("proposal_document", args=[proposal.pk])).status_code == 404
