"""Subscribers: addresses, tokens, double opt-in and unsubscribe."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from alerts.subscribers import (
    InvalidAddress,
    confirm,
    get_or_create,
    send_confirmation,
    unsubscribe_by_email,
    unsubscribe_by_token,
    validate_email,
)
from alerts.subscriptions import SubscriptionError, SubscriptionSpec, create_subscription
from store.db import session_scope
from store.models import Subscription
from tests.alerts_support import make_settings


@pytest.mark.parametrize(
    "address",
    ["reader@example.com", "first.last+tag@mail.example.co.uk", "Zhang_San@XCMG.com.cn", "a@b.cn"],
)
def test_plain_addresses_are_accepted_with_the_domain_lower_cased(address):
    local, domain = validate_email(address).split("@")
    assert local == address.split("@")[0] and domain == address.split("@")[1].lower()


@pytest.mark.parametrize(
    "address",
    [
        "",
        "no-at-sign",
        "@example.com",
        "reader@",
        "reader@localhost",
        "two..dots@example.com",
        "reader@-bad.example.com",
        "reader@example.com\r\nBcc: victim@example.org",
        "reader@exa mple.com",
        '"quoted"@example.com',
        "x" * 65 + "@example.com",
        "reader@" + "a" * 250 + ".com",
    ],
)
def test_bad_addresses_are_refused(address):
    with pytest.raises(InvalidAddress):
        validate_email(address)


@settings(max_examples=150)
@given(st.text(min_size=1, max_size=40), st.sampled_from(["\r", "\n", "\x00", "\t"]), st.text(max_size=10))
def test_no_address_with_a_control_character_is_ever_accepted(prefix, control, suffix):
    with pytest.raises(InvalidAddress):
        validate_email(prefix + control + suffix + "@example.com")


def test_international_domains_are_stored_as_punycode():
    assert validate_email("reader@徐州.中国") == "reader@" + "徐州.中国".encode("idna").decode()


def test_double_opt_in_confirms_with_a_one_time_token(sqlite_engine, tmp_path):
    settings_ = make_settings(tmp_path)
    with session_scope(sqlite_engine) as session:
        subscriber, created = get_or_create(session, "reader@example.com", confirmed=False)
        token = subscriber.confirm_token
        path = send_confirmation(settings_, subscriber, "工程机械")
    assert created and token and len(token) >= 43
    msg = email.message_from_bytes(Path(path).read_bytes(), policy=email.policy.default)
    assert f"https://news.example.org/confirm/{token}" in msg.get_body(("plain",)).get_content()
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with session_scope(sqlite_engine) as session:
        assert confirm(session, token).confirmed
    with session_scope(sqlite_engine) as session:
        assert confirm(session, token) is None  # spent


def test_unsubscribe_by_token_or_email_deactivates_every_subscription(sqlite_engine):
    with session_scope(sqlite_engine) as session:
        subscriber, _ = get_or_create(session, "reader@example.com", confirmed=True)
        create_subscription(session, subscriber, SubscriptionSpec(clusters=["steel"]))
        token = subscriber.unsubscribe_token
    with session_scope(sqlite_engine) as session:
        assert unsubscribe_by_token(session, "not-a-token") is None
        assert unsubscribe_by_token(session, token).unsubscribed_at is not None
    with Session(sqlite_engine) as session:
        assert [s.active for s in session.exec(select(Subscription))] == [False]
    with session_scope(sqlite_engine) as session:
        assert unsubscribe_by_email(session, "READER@example.com") is None  # local part is case-sensitive
        assert unsubscribe_by_email(session, "reader@EXAMPLE.com") is not None


def test_subscribing_again_after_unsubscribing_reactivates(sqlite_engine):
    with session_scope(sqlite_engine) as session:
        subscriber, _ = get_or_create(session, "reader@example.com", confirmed=True)
        unsubscribe_by_email(session, "reader@example.com")
        again, created = get_or_create(session, "reader@example.com", confirmed=True)
    assert not created and again.unsubscribed_at is None


def test_subscription_settings_are_validated_at_entry(sqlite_engine):
    with session_scope(sqlite_engine) as session:
        subscriber, _ = get_or_create(session, "reader@example.com", confirmed=True)
        with pytest.raises(SubscriptionError, match="unknown cluster 'robots'.*engineering_machinery"):
            create_subscription(session, subscriber, SubscriptionSpec(clusters=["robots"]))
        with pytest.raises(SubscriptionError, match="invalid keyword query"):
            create_subscription(session, subscriber, SubscriptionSpec(keywords='"unclosed'))
        with pytest.raises(SubscriptionError, match="not stored"):
            create_subscription(
                session,
                subscriber,
                SubscriptionSpec(bots=["dingtalk:https://oapi.dingtalk.com/x;secret=SEC123"]),
            )
        sub = create_subscription(
            session,
            subscriber,
            SubscriptionSpec(
                clusters=["green_energy", "engineering_machinery"], keywords="徐工 | 协鑫", at_time="7:30"
            ),
        )
    assert sub.clusters == ["engineering_machinery", "green_energy"]  # 343 order
    assert sub.at_time == "07:30" and sub.channels == ["email"]


def test_tokens_never_start_with_a_dash_so_they_paste_safely_into_commands():
    from alerts.subscribers import new_token

    tokens = {new_token() for _ in range(500)}
    assert len(tokens) == 500
    assert not any(t.startswith("-") for t in tokens)
    assert all(len(t) >= 43 for t in tokens)  # 256 random bits
