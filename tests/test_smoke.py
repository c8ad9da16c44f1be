"""First end-to-end checks: a member of staff requests a channel, comms approve and activate it."""

from __future__ import annotations


def test_request_approve_activate_verify(browser_as, make_user):
    staff = browser_as("staff")
    response = staff.post(
        "/channels/new",
        {
            "platform": "x", "handle": "@TrustMaternity", "display_name": "Maternity", "department": "Maternity",
            "purpose": "Updates", "audience": "Parents", "posting_plan": "Midwives", "moderation_plan": "Midwives",
            "out_of_hours": "On-call comms", "sponsor": "Head of Midwifery", "proposed_administrators": "Ann",
            "policy_acknowledged": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    comms = browser_as("comms")
    page = comms.get(location)
    assert page.status_code == 200
    reference = location.rsplit("/", 1)[1]
    assert comms.post(f"/channels/{reference}/actions/approve", {"approve-reason": ""}).status_code == 302
    assert comms.post(f"/channels/{reference}/actions/activate", {"activate-reason": ""}).status_code == 302
    verdict = comms.client.get("/api/v1/verify?url=https://twitter.com/trustmaternity").get_json()
    assert verdict["official"] is True
    assert verdict["channel"]["reference"] == reference
