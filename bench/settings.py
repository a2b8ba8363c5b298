"""Settings for the bench processes: the production settings, rate limits raised.

All sign-ups of the benchmark come from 127.0.0.1, so the per-address limit would refuse
them after ten; the per-e-mail limit stays (every bench sign-up has its own address).
"""

from buurtgesprek.settings import *  # noqa: F403

GESPREKKEN_RATE_LIMITS = {"ip": (10**9, 3600), "resend_ip": (10**9, 3600)}
