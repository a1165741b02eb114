"""The largest values the API's parameters may take, where the typed edge and the domain
code both need them: the request schemas import this module alone, not the domain modules
that work within the limits (a function that serves none of those routes loads none of them).
"""

from datetime import timedelta
from typing import Final

AGP_MAX_DAYS: Final = 90  # the stored history the platform keeps in its hourly buckets is 60 days
COMPARE_MAX_DAYS: Final = 90  # a comparison of two CGM sources
POPULATION_MAX_HOURS: Final = 24  # the population view
SOURCE_URL_MAX: Final = 2048  # a followed Nightscout site's address
SOURCE_TOKEN_MAX: Final = 512  # and its access token or API secret
# The most a datum's `time` may be ahead of the server's clock (time zones and clock drift
# of a day at most; a wrong year is not): the upload refuses later ones, and the summary's
# window ends there (domain/outdated.py), so every stored sample is inside it.
MAX_AHEAD: Final = timedelta(days=1)
