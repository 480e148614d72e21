"""X API v2 endpoints and request fields used by the collector."""

X_API_BASE_URL = "https://api.x.com/2"
SEARCH_RECENT_PATH = "tweets/search/recent"
USERS_BY_PATH = "users/by"

# what the normalised post needs; `entities` gives the @mentions
TWEET_FIELDS = (
    "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,lang,author_id,entities"
)
EXPANSIONS = "author_id"
USER_FIELDS = "username"
STATS_USER_FIELDS = "username,public_metrics"

MAX_RESULTS = 100  # recent search: 10..100 per page
USERS_PER_LOOKUP = 100  # /2/users/by accepts up to 100 usernames
DEFAULT_MAX_QUERY_LENGTH = 512  # the basic plans' limit; pro allows 1024
# languages X reports when it cannot tell
UNDETERMINED_LANGUAGES = {"und", "zxx", "qam", "qct", "qht", "qme", "qst"}
PLATFORM = "x"
SOURCE_NAME = "x-api"
