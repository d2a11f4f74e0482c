"""The teacher: an OpenAI-compatible endpoint used with many requests in flight, a concurrency
limit, retries with backoff, a rate limit, a token and cost ledger, and a response cache keyed by
request hash (a crashed or repeated run never pays twice)."""

from synthesis.teacher.answers import Junk, json_object
from synthesis.teacher.client import Reply, Teacher, TeacherUnavailable
from synthesis.teacher.ledger import Ledger

__all__ = ["Junk", "Ledger", "Reply", "Teacher", "TeacherUnavailable", "json_object"]
