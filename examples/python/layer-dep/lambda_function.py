"""layer-dep: uses humanize (requirements.txt), a pure-Python package a layer puts in /opt/python."""

import humanize


def lambda_handler(event, context):
    return {
        "size": humanize.naturalsize(event.get("bytes", 0)),
        "count": humanize.intcomma(event.get("count", 0)),
        "words": humanize.intword(event.get("count", 0)),
        "humanize": humanize.__version__,
        "from": humanize.__file__,
    }
