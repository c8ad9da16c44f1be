"""The demo's channels: one in every state of the lifecycle, requested by the demo's people."""

from __future__ import annotations

from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.services import ChannelRequest

# (platform, handle, name, department, requester, path through the lifecycle)
CHANNELS = [
    ("x", "@ExampleNHS", "Example NHS Foundation Trust", "Communications", 2, ["approve", "activate"]),
    (
        "facebook",
        "https://www.facebook.com/ExampleNHSTrust",
        "Example NHS Foundation Trust",
        "Communications",
        2,
        ["approve", "activate"],
    ),
    ("instagram", "examplenhs", "Example NHS", "Communications", 3, ["approve", "activate"]),
    (
        "linkedin",
        "https://www.linkedin.com/company/example-nhs-ft/",
        "Example NHS Foundation Trust",
        "Workforce",
        1,
        ["approve", "activate"],
    ),
    ("youtube", "@ExampleNHSTrust", "Example NHS Foundation Trust", "Communications", 2, ["approve", "activate"]),
    ("x", "@ExMaternityNHS", "Maternity Services, Example NHS", "Maternity", 0, ["approve", "activate"]),
    (
        "facebook",
        "ExampleMaternityVoices",
        "Example Maternity Voices",
        "Maternity",
        0,
        ["approve", "activate", "suspend"],
    ),
    ("tiktok", "@examplenhscareers", "Careers at Example NHS", "Workforce", 1, ["approve", "activate"]),
    ("bluesky", "examplenhs.bsky.social", "Example NHS", "Communications", 3, ["approve", "activate"]),
    ("x", "@ExampleJabs", "COVID-19 vaccination, Example NHS", "Pharmacy", 1, ["approve", "activate", "retire"]),
    ("instagram", "example_physio", "Physiotherapy, Example NHS", "Therapies", 0, []),
    ("threads", "@examplenhs", "Example NHS", "Communications", 3, ["approve"]),
    ("whatsapp", "https://whatsapp.com/channel/0029VaExampleNHS01", "Example NHS updates", "Communications", 2, []),
    ("facebook", "ExampleRenalPatients", "Renal patients group", "Renal", 0, ["request_info"]),
    ("x", "@Ward7Social", "Ward 7 social", "Surgery", 1, ["reject"]),
    ("pinterest", "examplenhsrecipes", "Healthy recipes, Example NHS", "Dietetics", 0, ["withdraw"]),
]

REASONS = {
    "suspend": "Moderators on long-term leave; paused until cover is arranged.",
    "retire": "The vaccination campaign ended; followers pointed to the main account.",
    "request_info": "Who will answer messages at weekends? Patients may ask clinical questions.",
    "reject": "A social group for one ward is not a corporate channel; please use a private staff group instead.",
    "withdraw": "We will post through the main Trust account instead.",
}


def demo_request(platform: str, handle: str, name: str, department: str, requester: User) -> ChannelRequest:
    """A department's request for a channel, as the demo's requesters word it."""
    return ChannelRequest(
        platform=platform,
        handle=handle,
        display_name=name,
        department=department,
        purpose=f"News, service updates and campaigns from {department.lower()} for the people we serve.",
        audience="Patients, carers, visitors and the local community.",
        posting_plan=f"Two named members of the {department.lower()} team, trained by communications.",
        moderation_plan="The same team checks comments twice a day on weekdays.",
        out_of_hours="The communications on-call manager watches notifications at weekends.",
        sponsor=f"Head of {department}",
        proposed_administrators=f"{requester.name} ({requester.email}); the communications team",
        policy_acknowledged=True,
    )


def seed_demo(users: list[User], comms: list[User]) -> None:
    """Request each channel as one of ``users`` and move it along its path (comms decide, never
    on their own requests; the requester withdraws or resubmits)."""
    for index, (platform, handle, name, department, requester_index, path) in enumerate(CHANNELS):
        requester = users[requester_index]
        channel = channels.request_channel(demo_request(platform, handle, name, department, requester), requester)
        for action in path:
            if action == "withdraw" or action == "resubmit":
                actor = requester
            else:
                actor = comms[index % 2] if comms[index % 2].id != requester.id else comms[(index + 1) % 2]
            channels.transition(channel, action, actor, reason=REASONS.get(action))
