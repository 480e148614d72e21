"""Bluesky (AT Protocol XRPC) endpoints used by the collector."""

BLUESKY_BASE_URL = "https://public.api.bsky.app/xrpc"
SEARCH_POSTS_PATH = "app.bsky.feed.searchPosts"
GET_PROFILES_PATH = "app.bsky.actor.getProfiles"
CREATE_SESSION_PATH = "com.atproto.server.createSession"
MAX_LIMIT = 100  # posts per search page
PROFILES_PER_LOOKUP = 25
MENTION_FACET = "app.bsky.richtext.facet#mention"
REPOST_REASON = "app.bsky.feed.defs#reasonRepost"
PLATFORM = "bluesky"
SOURCE_NAME = "bluesky-api"
