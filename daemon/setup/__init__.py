"""`kithkin init`'s lookups: an email address -> the settings of its mail servers.

    presets.py      the big providers: servers, login form, what to do about the password
    network.py      the injected resolver, TLS context, timeouts and budget
    srv.py          RFC 6186 SRV records, ordered as RFC 2782 says
    fetch.py        one small file over verified HTTPS, bounded
    autoconfig.py   the domain's autoconfig file (parsed by parsers/mailconfig.py)
    mx.py           a domain of one's own at a provider with a preset, by its MX hosts
    discover.py     the order: preset, SRV, autoconfig, MX
    advice.py       the result as the config file's text and comments

Only `kithkin init` (daemon/cli/setup.py) imports this package: the service and the sync
never look anything up (tests/test_walls.py).
"""
