"""The mail providers most people use: their servers, and what to do about the password.

Checked against each provider's own help pages and Thunderbird's ISPDB (2026). A preset is
found by the address's domain (`domains`), or, for a domain of one's own hosted there, by the
domain's MX hosts (`mx_suffixes`, in mx.py). README's "Providers" table is checked against
this one by tests/test_init_presets.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: str  # "tls" (implicit TLS) or "starttls"


@dataclass(frozen=True)
class Password:
    """What the provider accepts in place of your account password, and where to get it."""

    kind: str  # "app-password", "account-password", "oauth2" or "bridge"
    advice: str  # one sentence, for the config file's comments and `kithkin init`'s output
    url: str | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    imap: Endpoint
    smtp: Endpoint
    password: Password
    username: str = "address"  # the login: "address" (you@domain) or "localpart" (you)
    auth: str = "password"  # "password", or "xoauth2" where nothing else is accepted
    domains: tuple[str, ...] = ()  # address domains that are this provider
    subdomains: bool = False  # their subdomains too (tenant.onmicrosoft.com)
    mx_suffixes: tuple[str, ...] = ()  # MX host names (or their parent domains) hosted here
    notes: tuple[str, ...] = ()  # more comment lines for the config file
    ca_file: str | None = None  # a certificate to trust, written as a commented line


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


OAUTH_HELPERS = (
    "password_command must print an OAuth2 access token: use a helper such as oama "
    '(password_command = ["oama", "access", "%s"]), pizauth or mutt_oauth2.py'
)

GOOGLE = Preset(
    name="Google (Gmail, Google Workspace)",
    imap=Endpoint("imap.gmail.com", 993, "tls"),
    smtp=Endpoint("smtp.gmail.com", 465, "tls"),
    password=Password(
        "app-password",
        "Google needs an app password (it needs 2-Step Verification on), or OAuth2 with "
        'auth = "xoauth2"',
        "https://myaccount.google.com/apppasswords",
    ),
    domains=("gmail.com", "googlemail.com"),
    mx_suffixes=("google.com", "googlemail.com"),
)

OUTLOOK = Preset(
    name="Outlook.com (Hotmail, Live)",
    imap=Endpoint("outlook.office365.com", 993, "tls"),
    smtp=Endpoint("smtp-mail.outlook.com", 587, "starttls"),
    auth="xoauth2",
    password=Password(
        "oauth2",
        "Outlook.com accepts only OAuth2 (Modern Auth): " + OAUTH_HELPERS,
        "https://support.microsoft.com/office/pop-imap-and-smtp-settings-"
        "8361e398-8af4-4e97-b147-6c6c4ac95353",
    ),
    domains=_names(
        "outlook.com hotmail.com live.com msn.com windowslive.com hotmail.co.uk "
        "hotmail.de hotmail.fr hotmail.it hotmail.es outlook.de outlook.fr outlook.es "
        "outlook.it live.co.uk live.de live.fr live.nl"
    ),
    mx_suffixes=("olc.protection.outlook.com",),
    notes=("IMAP must be switched on: Outlook.com Settings > Mail > Forwarding and IMAP.",),
)

MICROSOFT_365 = Preset(
    name="Microsoft 365 (Exchange Online)",
    imap=Endpoint("outlook.office365.com", 993, "tls"),
    smtp=Endpoint("smtp.office365.com", 587, "starttls"),
    auth="xoauth2",
    password=Password(
        "oauth2",
        "Microsoft 365 accepts only OAuth2 (basic authentication is off): " + OAUTH_HELPERS,
        "https://learn.microsoft.com/exchange/client-developers/legacy-protocols/"
        "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth",
    ),
    domains=("onmicrosoft.com",),
    subdomains=True,
    mx_suffixes=("mail.protection.outlook.com",),
    notes=("Your organisation's admin may have to allow IMAP for your mailbox.",),
)

FASTMAIL = Preset(
    name="Fastmail",
    imap=Endpoint("imap.fastmail.com", 993, "tls"),
    smtp=Endpoint("smtp.fastmail.com", 465, "tls"),
    password=Password(
        "app-password",
        "Fastmail needs an app password (Settings > Privacy & Security > App passwords); "
        "your account password does not work over IMAP",
        "https://www.fastmail.com/help/technical/servernamesandports.html",
    ),
    domains=_names(
        "fastmail.com fastmail.fm fastmail.net fastmail.org fastmail.de fastmail.uk "
        "fastmail.us fastmail.to fastmail.mx fastmail.in fastmail.jp fastmail.se "
        "fastmail.nl fastmail.es fastmail.fr fastmail.co.uk fastmail.com.au fastmail.cn "
        "fastmail.im messagingengine.com sent.com"
    ),
    mx_suffixes=("messagingengine.com",),
)

ICLOUD = Preset(
    name="iCloud Mail",
    imap=Endpoint("imap.mail.me.com", 993, "tls"),
    smtp=Endpoint("smtp.mail.me.com", 587, "starttls"),
    username="localpart",
    password=Password(
        "app-password",
        "iCloud needs an app-specific password (Apple Account > Sign-In and Security > "
        "App-Specific Passwords)",
        "https://account.apple.com",
    ),
    domains=("icloud.com", "me.com", "mac.com"),
    mx_suffixes=("mail.icloud.com",),
    notes=(
        (
            "iCloud's IMAP login is the name part of your iCloud address; if it is refused, "
            "try the whole address. On a domain of your own, it is your iCloud address's name."
        ),
    ),
)

YAHOO = Preset(
    name="Yahoo Mail",
    imap=Endpoint("imap.mail.yahoo.com", 993, "tls"),
    smtp=Endpoint("smtp.mail.yahoo.com", 465, "tls"),
    password=Password(
        "app-password",
        "Yahoo needs an app password (Account Info > Account Security > Generate app password)",
        "https://login.yahoo.com/myaccount/security/",
    ),
    domains=_names(
        "yahoo.com yahoo.co.uk yahoo.de yahoo.fr yahoo.it yahoo.es yahoo.ca yahoo.se "
        "yahoo.co.in yahoo.com.au yahoo.com.br yahoo.com.mx yahoo.com.ar ymail.com "
        "rocketmail.com myyahoo.com"
    ),
    mx_suffixes=("yahoodns.net",),
)

GMX = Preset(
    name="GMX",
    imap=Endpoint("imap.gmx.net", 993, "tls"),
    smtp=Endpoint("mail.gmx.net", 465, "tls"),
    password=Password(
        "account-password",
        "GMX takes your account password (an app password with two-factor authentication "
        "on); switch on POP3/IMAP access once in GMX's email settings first",
        "https://hilfe.gmx.net/pop-imap/einschalten.html",
    ),
    domains=_names("gmx.net gmx.de gmx.at gmx.ch gmx.eu gmx.org gmx.info gmx.biz"),
    mx_suffixes=("gmx.net",),
)

GMX_COM = Preset(
    name="GMX (gmx.com)",
    imap=Endpoint("imap.gmx.com", 993, "tls"),
    smtp=Endpoint("mail.gmx.com", 465, "tls"),
    password=GMX.password,
    domains=("gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr", "gmx.es"),
    mx_suffixes=("gmx.com",),
)

WEB_DE = Preset(
    name="WEB.DE",
    imap=Endpoint("imap.web.de", 993, "tls"),
    smtp=Endpoint("smtp.web.de", 587, "starttls"),
    username="localpart",
    password=Password(
        "account-password",
        "WEB.DE takes your account password (an app password with two-factor "
        "authentication on); switch on POP3/IMAP access once in WEB.DE's email settings "
        "first",
        "https://hilfe.web.de/pop-imap/einschalten.html",
    ),
    domains=("web.de",),
    mx_suffixes=("web.de",),
)

MAILBOX_ORG = Preset(
    name="mailbox.org",
    imap=Endpoint("imap.mailbox.org", 993, "tls"),
    smtp=Endpoint("smtp.mailbox.org", 465, "tls"),
    password=Password(
        "account-password",
        "mailbox.org takes your account password, or with two-factor authentication on an "
        "application password (All settings > Security > Application passwords)",
        "https://kb.mailbox.org/en/private/e-mail/e-mail-configuration",
    ),
    domains=("mailbox.org",),
    mx_suffixes=("mailbox.org",),
)

POSTEO = Preset(
    name="Posteo",
    imap=Endpoint("posteo.de", 993, "tls"),
    smtp=Endpoint("posteo.de", 465, "tls"),
    password=Password(
        "account-password",
        "Posteo takes your account password",
        "https://posteo.de/hilfe/wie-richte-ich-posteo-in-einem-mailprogramm-ein-pop3-imap-"
        "und-smtp",
    ),
    domains=_names(
        "posteo.de posteo.net posteo.org posteo.eu posteo.at posteo.ch posteo.be "
        "posteo.com posteo.uk posteo.us posteo.nl posteo.es posteo.it posteo.me"
    ),
    mx_suffixes=("posteo.de",),
)

ZOHO_ADVICE = Password(
    "account-password",
    "Zoho takes your account password, or with two-factor authentication on an "
    "application-specific password; switch on IMAP Access first (Settings > Mail Accounts "
    "> IMAP)",
    "https://www.zoho.com/mail/help/imap-access.html",
)

ZOHO = Preset(
    name="Zoho Mail",
    imap=Endpoint("imap.zoho.com", 993, "tls"),
    smtp=Endpoint("smtp.zoho.com", 465, "tls"),
    password=ZOHO_ADVICE,
    domains=("zoho.com", "zohomail.com"),
)

ZOHO_EU = Preset(
    name="Zoho Mail (EU)",
    imap=Endpoint("imap.zoho.eu", 993, "tls"),
    smtp=Endpoint("smtp.zoho.eu", 465, "tls"),
    password=ZOHO_ADVICE,
    domains=("zoho.eu", "zohomail.eu"),
)

ZOHO_DOMAIN = Preset(
    name="Zoho Mail (your own domain)",
    imap=Endpoint("imappro.zoho.com", 993, "tls"),
    smtp=Endpoint("smtppro.zoho.com", 465, "tls"),
    password=ZOHO_ADVICE,
    mx_suffixes=("zoho.com",),
)

ZOHO_DOMAIN_EU = Preset(
    name="Zoho Mail (your own domain, EU)",
    imap=Endpoint("imappro.zoho.eu", 993, "tls"),
    smtp=Endpoint("smtppro.zoho.eu", 465, "tls"),
    password=ZOHO_ADVICE,
    mx_suffixes=("zoho.eu",),
)

PROTON_BRIDGE = Preset(
    name="Proton Mail (through Proton Mail Bridge)",
    imap=Endpoint("127.0.0.1", 1143, "starttls"),
    smtp=Endpoint("127.0.0.1", 1025, "starttls"),
    password=Password(
        "bridge",
        "Proton Mail needs Proton Mail Bridge running on this machine; use the password "
        "Bridge shows for your account (not your Proton password)",
        "https://proton.me/mail/bridge",
    ),
    domains=("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
    mx_suffixes=("protonmail.ch",),
    notes=(
        (
            "Bridge makes its own certificate: export it (Bridge > Settings > Advanced "
            "settings > Export TLS certificates, or `cert export` in `protonmail-bridge "
            "--cli`) into a folder, and point ca_file at the cert.pem it writes there."
        ),
    ),
    ca_file="~/.config/kithkin/bridge/cert.pem",
)

PRESETS: tuple[Preset, ...] = (
    GOOGLE, OUTLOOK, MICROSOFT_365, FASTMAIL, ICLOUD, YAHOO, GMX, GMX_COM, WEB_DE,
    MAILBOX_ORG, POSTEO, ZOHO, ZOHO_EU, ZOHO_DOMAIN, ZOHO_DOMAIN_EU, PROTON_BRIDGE,
)  # fmt: skip

_BY_DOMAIN = {domain: preset for preset in PRESETS for domain in preset.domains}


def preset_for_domain(domain: str) -> Preset | None:
    """The preset whose provider owns this address domain (lowercase, as normalised)."""
    name = domain.lower().rstrip(".")
    if name in _BY_DOMAIN:
        return _BY_DOMAIN[name]
    parents = [name.split(".", i)[-1] for i in range(1, name.count(".") + 1)]
    return next((p for d in parents if (p := _BY_DOMAIN.get(d)) and p.subdomains), None)


def username_for(preset: Preset, address: str) -> str:
    return address.rpartition("@")[0] if preset.username == "localpart" else address
