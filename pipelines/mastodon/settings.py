"""Mastodon REST API endpoints used by the collector."""

MASTODON_BASE_URL = "https://mastodon.social"
TAG_TIMELINE_PATH = "api/v1/timelines/tag/{tag}"
SEARCH_PATH = "api/v2/search"
ACCOUNT_LOOKUP_PATH = "api/v1/accounts/lookup"
MAX_LIMIT = 40  # statuses per page
PLATFORM = "mastodon"
SOURCE_NAME = "mastodon-api"
