"""The first texts of the privacy notice, terms of use and community guidelines (staff edit them after)."""

from django.db import migrations

PRIVACY = """This notice explains what the London mental health portal collects about you, why, and what you can do
about it. The portal is run for London's NHS integrated care boards and councils; the organisation
that runs it is the **data controller**, and its data protection officer answers the questions below
(contact details at the end of this page).

## What we collect

- **Your account:** your email address, the display name you choose (a pseudonym is fine) and your
  password, stored only as a one-way hash. We record when you agreed to the terms of use and when you
  confirmed your email address.
- **Lived experience, if you choose to tell us:** whether you use or have used mental-health services,
  or care for someone who does. This is health information, a special category of personal data. The
  question is optional, you can change or remove your answer at any time on your profile, and it is
  never shown with your name unless you choose to show the lived-experience badge.
- **What you write:** comments and replies on plans, the flags you raise, the plans you follow and
  your choices about notifications.
- **If you work for a partner organisation:** your role, your organisation, and the plans, actions,
  contracts and data submissions you work on, with a history of your changes.
- **Technical records:** our servers keep a log of requests (address, time, page) to keep the service
  secure and working. Sign-in attempts are counted to stop people guessing passwords.

We use one cookie to keep you signed in and one to protect forms from forgery. We use no advertising
or analytics cookies, and the pages load nothing from other websites.

## Why, and the law that allows it

- To run the portal and let London's commissioners, providers, service users and carers plan mental
  health services together: a task in the public interest (UK GDPR Article 6(1)(e)), the statutory
  functions of NHS bodies and local authorities.
- Your lived-experience answer: your explicit consent (Article 9(2)(a)), which you can withdraw by
  clearing the answer on your profile.
- Security logs: our legitimate interest in keeping the service safe (Article 6(1)(f)).

## Who sees it

Your display name and what you publish are public on plans that are public. Your email address is
never shown. Moderators see comments held for review. Staff who run the portal can see account
details to support you. We do not sell or share your data, and we do not use it for marketing. Our
hosting provider processes it on our behalf, in the UK, under contract.

## How long we keep it

- Your account: until you ask us to close it. Write to the contact below; staff close it within one
  month and tell you when it is done.
- Comments: as part of the record of the plan they were written on, because plans are public
  decisions. When you close your account you can ask for your comments to be removed or for your
  name on them to be replaced.
- Request logs: no longer than the hosting organisation's log retention period, at most 90 days.

## Your rights

You can ask for a copy of your data, to correct it, to delete it, to restrict or object to how we use
it, and to have it in a machine-readable form. Write to the contact below; we answer within one month.
If you are unhappy with our answer you can complain to the Information Commissioner's Office
(ico.org.uk, 0303 123 1113).

## Contact

Email the portal's support team at the address given on the accessibility statement page, marking
your message "Data protection".

This portal is not a crisis service. If you need urgent help, call NHS 111 and choose option 2, call
Samaritans on 116 123, or call 999 in an emergency."""

TERMS = """These terms apply to everyone who uses the London mental health portal. By creating an account you
agree to them and to the community guidelines.

## What the portal is for

The portal is where London's NHS and council commissioners, service providers, clinicians, service
users and carers share plans for mental health services, follow their progress and say what they
think. It is **not a crisis service** and nobody watches it around the clock: if you need urgent
help, call NHS 111 and choose option 2, call Samaritans on 116 123, or call 999 in an emergency.

## Your account

- Give an email address that is yours and confirm it; keep your password to yourself.
- One account per person. You may use a pseudonym as your display name, but not someone else's name.
- Tell us at once if you think someone else has used your account.

## What you publish

- You are responsible for what you write. Follow the community guidelines.
- By publishing a comment you allow the portal to show it with the plan it belongs to, for as long as
  the plan is kept, and to include it in summaries of what people said.
- Do not publish personal details of anyone else, including patients and staff, or anything that
  could identify a person who uses services.
- Moderators may hold, hide or remove comments that break these terms or the guidelines, and may stop
  an account from commenting. You will be told why, and you can ask for the decision to be looked at
  again.

## Data, figures and documents

Published figures are official statistics-style summaries with disclosure control: small numbers are
hidden to protect people. Do not try to work out hidden figures or identify anyone from them. Figures
and documents that the portal publishes as open data are under the Open Government Licence v3.0.

## Partner organisations

Staff of partner organisations act for their organisation, must keep what they see in partners-only
areas to the purposes of planning and commissioning, and must submit data accurately.

## Changes and contact

We may change these terms; we will show the date of the last change on this page and tell account
holders about important changes. Questions go to the support address on the accessibility statement
page."""

GUIDELINES = """The portal works when everyone, whether they use services, care for someone, provide or commission
them, can say what they think and be heard. These guidelines keep it that way.

## Be respectful

- Disagree with ideas and decisions, not with people. No insults, threats, harassment or
  discrimination.
- Remember that people here may be unwell, grieving or exhausted, and that staff are people too.

## Keep people safe

- Do not share anything that could identify you or anyone else: names of patients or staff, wards and
  dates that point to a person, photos, addresses, phone numbers.
- Do not describe methods of self-harm or suicide.
- If you are struggling, you do not have to wait for a reply here: call NHS 111 and choose option 2,
  call Samaritans on 116 123, or call 999 in an emergency. If you write that you are at risk, a
  moderator will see your comment first and we will show you where to get help.

## Keep to the plan

- Comment on the plan or action the conversation is about. Complaints about your own care go to the
  service's complaints team or PALS, where they can be investigated.
- No advertising, campaigning for a political party, or repeated posting of the same message.

## Moderation

Anyone signed in can flag a comment. Three flags hold it until a moderator looks. Moderators may
publish, hide or remove comments and may stop an account from commenting; decisions are recorded and
you can ask for one to be reviewed. Official responses from plan managers are marked as such."""


def create(apps, schema_editor):
    PolicyPage = apps.get_model("stakeholders", "PolicyPage")
    pages = [
        ("privacy", "Privacy notice", "What we collect about you, why, for how long, and your rights.", PRIVACY),
        ("terms", "Terms of use", "The rules for using the portal and publishing on it.", TERMS),
        (
            "community-guidelines",
            "Community guidelines",
            "How we keep conversations on the portal respectful, safe and useful.",
            GUIDELINES,
        ),
    ]
    for slug, title, summary, body in pages:
        PolicyPage.objects.get_or_create(slug=slug, defaults={"title": title, "summary": summary, "body": body})


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0005_policy_pages")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
