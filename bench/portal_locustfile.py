"""Virtual reviewers for the portal benchmark (locust). Each signs in through the portal's
form (CSRF token and cookie, as a browser does), then reads the four pages in turn with a
pause between clicks. Configured by `bench.portal` through environment variables."""

import os
import random
import re
from itertools import count
from pathlib import Path

from gevent.event import Event
from locust import (
    FastHttpUser,
    between,
    task,
)

USERNAMES = os.environ.get("BENCH_PORTAL_USERS", "").split(",")
PASSWORD = os.environ.get("BENCH_PORTAL_PASSWORD", "")
SLUGS = Path(os.environ["BENCH_PORTAL_SLUGS_FILE"]).read_text().split()
PER_MODEL = int(os.environ.get("BENCH_PORTAL_PER_MODEL", "10"))
ACTORS = os.environ.get("BENCH_PORTAL_ACTORS", "").split(",")
THINK = float(os.environ.get("BENCH_PORTAL_THINK", "1.0"))
WORDS = ["credit", "fraud", "market", "model-00", "team 3", "marketing", "clinical"]
TIERS = ["high", "medium", "low"]
STAGES = ["production", "validation", "approved", ""]
KINDS = ["signature.signed", "stage.changed", "monitoring.recorded", "authorization.activated"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_next_user = count()
_signed_in = count(1)
# Page figures count from the moment the last reviewer has signed in: twenty password checks
# at once (PBKDF2, as in production) would otherwise weigh on the first pages.
_everyone_in = Event()


class Reviewer(FastHttpUser):
    wait_time = between(THINK * 0.5, THINK * 1.5)

    def on_start(self) -> None:
        """Sign in. The server runs with its production settings, so its cookies are marked
        Secure; on the plain-HTTP loopback they are sent back by hand."""
        username = USERNAMES[next(_next_user) % len(USERNAMES)]
        form = self.client.get("/login", name="sign in")
        token = CSRF.search(form.text or "")
        assert token, "no CSRF token on the sign-in page"
        self.cookies = {"csrftoken": self.cookie("csrftoken")}
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            headers={"Cookie": self.cookie_header(), "Referer": f"{self.host}/login"},
            allow_redirects=False,
            name="sign in",
        )
        assert response.status_code == 302, f"sign-in of {username}: {response.status_code}"
        self.cookies["sessionid"] = self.cookie("sessionid")
        runner = self.environment.runner
        if runner is not None and next(_signed_in) >= runner.target_user_count:
            runner.stats.reset_all()
            _everyone_in.set()
        _everyone_in.wait()

    def cookie(self, name: str) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == name and cookie.value:
                return str(cookie.value)
        raise AssertionError(f"the server set no {name} cookie")

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def page(self, url: str, name: str) -> None:
        """A page that answers anything but 200 (a redirect to sign-in too) is a failure."""
        with self.client.get(
            url,
            headers={"Cookie": self.cookie_header()},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    @task
    def dashboard(self) -> None:
        self.page("/", "dashboard")

    @task
    def inventory(self) -> None:
        params = f"q={random.choice(WORDS)}&risk_tier={random.choice(TIERS)}"
        params += f"&stage={random.choice(STAGES)}&sort={random.choice(['name', '-versions'])}"
        self.page(f"/models?{params}", "inventory search")

    @task
    def version(self) -> None:
        slug = random.choice(SLUGS)
        self.page(f"/models/{slug}/versions/{random.randint(1, PER_MODEL)}", "version page")

    @task
    def ledger(self) -> None:
        choice = random.randrange(3)
        if choice == 0:
            slug = random.choice(SLUGS)
            params = f"subject=model:{slug}/{random.randint(1, PER_MODEL)}"
        elif choice == 1:
            params = f"kind={random.choice(KINDS)}"
        else:
            params = f"actor={random.choice(ACTORS)}"
        self.page(f"/ledger?{params}", "ledger explorer")
