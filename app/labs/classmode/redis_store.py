"""Classes in Redis: every worker process and every host behind a load balancer sees one class.

Keys of class ``C`` (prefix ``convlab:class:C``): ``:meta`` (hash: token, join URL,
counters, current question), ``:students`` (id -> [number, nickname]), ``:q:N`` (the
question's spec, round, revealed), ``:a:N:R`` (student -> answer in round R; a second
answer overwrites the first), ``:why:N`` (student -> explanation). Every write runs as
one Lua script, so the checks ("is this question still open?") and the write are
atomic across workers, and ends with PUBLISH on ``:events``: a teacher's stream on
worker A hears an answer posted on worker B at once. Every key carries the inactivity
TTL, renewed on each write (all of a class's keys at most once a minute), so an idle
class disappears from Redis by itself. One Redis server, not a cluster (the scripts
derive key names from the prefix).
"""
from __future__ import annotations

import hmac
import json
import time
from contextlib import asynccontextmanager
from functools import wraps
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.labs.classmode import rules
from app.labs.classmode.rules import ClassModeError, ClassModeUnavailable, Question, QuestionState
from app.labs.classmode.store import ClassStore, pick_question

PREFIX = "convlab:class:"

# Shared head of every write script: ARGV[1] = TTL seconds, ARGV[2] = events channel, ARGV[3] = key prefix.
_HEAD = """
local ttl, channel, p = ARGV[1], ARGV[2], ARGV[3]
local meta = KEYS[1]
local function changed(...)
  redis.call('HINCRBY', meta, 'version', 1)
  redis.call('EXPIRE', meta, ttl)
  redis.call('EXPIRE', p .. ':students', ttl)
  for _, key in ipairs({...}) do redis.call('EXPIRE', key, ttl) end
  redis.call('PUBLISH', channel, 'changed')
end
if redis.call('EXISTS', meta) == 0 then return {-404, 0} end
"""

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'join_url', ARGV[3], 'students', 0, 'questions', 0,
           'current', 0, 'version', 0)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

JOIN = _HEAD + """
local sid, nickname, most = ARGV[4], ARGV[5], tonumber(ARGV[6])
if tonumber(redis.call('HGET', meta, 'students')) >= most then return {-409, most} end
local n = redis.call('HINCRBY', meta, 'students', 1)
redis.call('HSET', p .. ':students', sid, cjson.encode({n, nickname}))
changed()
return {0, n}
"""

ASK = _HEAD + """
local spec, most = ARGV[4], tonumber(ARGV[5])
if tonumber(redis.call('HGET', meta, 'questions')) >= most then return {-409, most} end
local n = redis.call('HINCRBY', meta, 'questions', 1)
local q = p .. ':q:' .. n
redis.call('HSET', q, 'spec', spec, 'round', 1, 'revealed', 0)
redis.call('HSET', meta, 'current', n)
changed(q)
return {0, n}
"""

ANSWER = _HEAD + """
local sid, n, value = ARGV[4], ARGV[5], ARGV[6]
if redis.call('HEXISTS', p .. ':students', sid) == 0 then return {-1, 0} end
local q = p .. ':q:' .. n
if redis.call('EXISTS', q) == 0 then return {-2, 0} end
if redis.call('HGET', q, 'revealed') == '1' then return {-3, 0} end
local current = redis.call('HGET', meta, 'current')
if current ~= n then return {-4, tonumber(current)} end
local r = redis.call('HGET', q, 'round')
local a = p .. ':a:' .. n .. ':' .. r
redis.call('HSET', a, sid, value)
changed(a)
return {0, tonumber(r)}
"""

REVOTE = _HEAD + """
local n, most = ARGV[4], tonumber(ARGV[5])
local q = p .. ':q:' .. n
if redis.call('EXISTS', q) == 0 then return {-2, 0} end
if redis.call('HGET', q, 'revealed') == '1' then return {-3, 0} end
local current = redis.call('HGET', meta, 'current')
if current ~= n then return {-4, tonumber(current)} end
local r = tonumber(redis.call('HGET', q, 'round'))
if r >= most then return {-5, r} end
redis.call('HSET', q, 'round', r + 1)
changed(q)
return {0, r + 1}
"""

REVEAL = _HEAD + """
local q = p .. ':q:' .. ARGV[4]
if redis.call('EXISTS', q) == 0 then return {-2, 0} end
if redis.call('HGET', q, 'revealed') ~= '1' then
  redis.call('HSET', q, 'revealed', 1)
  changed(q)
end
return {0, 0}
"""

EXPLAIN = _HEAD + """
local sid, n, text = ARGV[4], ARGV[5], ARGV[6]
local why = p .. ':why:' .. n
redis.call('HSET', why, sid, text)
changed(why)
return {0, 0}
"""

# Renew the TTL of every key of a class (a question asked at 9:00 must outlive a class still busy at 12:00).
REFRESH = """
local ttl, p = ARGV[1], ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', p .. ':students', ttl)
local count = tonumber(redis.call('HGET', KEYS[1], 'questions'))
for n = 1, count do
  redis.call('EXPIRE', p .. ':q:' .. n, ttl)
  redis.call('EXPIRE', p .. ':why:' .. n, ttl)
  for r = 1, tonumber(ARGV[3]) do redis.call('EXPIRE', p .. ':a:' .. n .. ':' .. r, ttl) end
end
return count
"""


def describe_url(url: str) -> str:
    """host:port of a Redis URL, without any password in it (for messages)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def _unreachable(method):
    @wraps(method)
    async def call(self, *args, **kwargs):
        try:
            return await method(self, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise ClassModeUnavailable(f"class mode cannot reach Redis at {self.where} ({type(exc).__name__}); "
                                       "is redis-server running and CONVLAB_REDIS_URL right?") from exc
    return call


class RedisClassStore(ClassStore):
    def __init__(self, url: str, idle_seconds: float = 6 * 3600, max_students: int = 500, max_questions: int = 200):
        self.url = url
        self.where = describe_url(url)
        self.idle_seconds = idle_seconds
        self.max_students = max_students
        self.max_questions = max_questions
        self._redis = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3,
                                              socket_timeout=5, health_check_interval=30)
        self._scripts = {name: self._redis.register_script(src) for name, src in
                         [("create", CREATE), ("join", JOIN), ("ask", ASK), ("answer", ANSWER),
                          ("revote", REVOTE), ("reveal", REVEAL), ("explain", EXPLAIN), ("refresh", REFRESH)]}
        self._specs: dict[tuple[str, int], Question] = {}  # questions never change once asked
        self._refreshed: dict[str, float] = {}

    @property
    def _ttl(self) -> int:
        return max(1, int(self.idle_seconds))

    @staticmethod
    def _p(code: str) -> str:
        return PREFIX + code

    async def _run(self, name: str, code: str, *args) -> list[int]:
        p = self._p(code)
        status, value = await self._scripts[name](keys=[p + ":meta"], args=[self._ttl, p + ":events", p, *args])
        if status == -404:
            raise rules.unknown_class(code)
        await self._maybe_refresh(code)
        return [int(status), int(value)]

    async def _maybe_refresh(self, code: str) -> None:
        now = time.monotonic()
        if now - self._refreshed.get(code, 0.0) < 60:
            return
        if len(self._refreshed) > 10_000:
            self._refreshed.clear()
        self._refreshed[code] = now
        p = self._p(code)
        await self._scripts["refresh"](keys=[p + ":meta"], args=[self._ttl, p, rules.MAX_ROUNDS])

    async def _meta(self, code: str, *fields: str) -> list[str]:
        values = await self._redis.hmget(self._p(code) + ":meta", ["token", *fields])
        if values[0] is None:
            raise rules.unknown_class(code)
        return values[1:]

    async def _spec(self, code: str, number: int) -> Question | None:
        key = (code, number)
        if key not in self._specs:
            raw = await self._redis.hget(f"{self._p(code)}:q:{number}", "spec")
            if raw is None:
                return None
            if len(self._specs) > 4096:
                self._specs.clear()
            self._specs[key] = Question.from_record(json.loads(raw))
        return self._specs[key]

    async def _load(self, code: str, number: int) -> QuestionState | None:
        p = f"{self._p(code)}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.hgetall(f"{p}:q:{number}")
        for r in range(1, rules.MAX_ROUNDS + 1):
            pipe.hgetall(f"{p}:a:{number}:{r}")
        pipe.hgetall(f"{p}:why:{number}")
        q, *answers, why = await pipe.execute()
        if not q:
            return None
        return QuestionState(number=number, question=Question.from_record(json.loads(q["spec"])),
                             round=int(q["round"]), revealed=q["revealed"] == "1",
                             answers={r: a for r, a in enumerate(answers, start=1) if a}, explanations=why)

    async def _student(self, code: str, student: str) -> None:
        if not await self._redis.hexists(self._p(code) + ":students", student):
            raise rules.ClassNotFound(f"student: not a member of class {code}; join again with the code")

    # --- the interface -------------------------------------------------------------

    @_unreachable
    async def create(self, join_url_for) -> tuple[str, str, str]:
        token = rules.new_token()
        for _ in range(20):
            code = rules.new_code()
            url = join_url_for(code)
            if await self._scripts["create"](keys=[self._p(code) + ":meta"], args=[self._ttl, token, url]):
                self._refreshed[code] = time.monotonic()
                return code, token, url
        raise ClassModeUnavailable("could not find a free class code; try again")

    @_unreachable
    async def join_url(self, code: str) -> str:
        (url,) = await self._meta(code, "join_url")
        return url

    @_unreachable
    async def authorize(self, code: str, token: str) -> None:
        values = await self._redis.hmget(self._p(code) + ":meta", ["token"])
        if values[0] is None:
            raise rules.unknown_class(code)
        if not hmac.compare_digest(values[0].encode(), str(token).encode()):
            raise rules.NotTeacher(f"only the teacher of class {code} may do this: send its teacher token "
                                   "as 'Authorization: Bearer <token>'")

    @_unreachable
    async def join(self, code: str, nickname: str) -> str:
        nickname = rules.clean_nickname(nickname)
        student = rules.new_student_id()
        status, _ = await self._run("join", code, student, nickname, self.max_students)
        if status == -409:
            raise ClassModeError(f"class {code} is full ({self.max_students} students)")
        return student

    @_unreachable
    async def ask(self, code: str, question: Question) -> int:
        status, number = await self._run("ask", code, json.dumps(question.to_record()), self.max_questions)
        if status == -409:
            raise ClassModeError(f"class {code} has had {self.max_questions} questions; start a new class")
        self._specs[(code, number)] = question
        return number

    @_unreachable
    async def answer(self, code: str, student: str, number: int, value) -> None:
        spec = await self._spec(code, number)
        if spec is None:
            await self._meta(code)  # 404 for an unknown class first
            raise rules.ClassNotFound(f"question: there is no question {number} in this class")
        spelled = spec.canonical(value)
        status, extra = await self._run("answer", code, student, number, spelled)
        if status == -1:
            raise rules.ClassNotFound(f"student: not a member of class {code}; join again with the code")
        if status == -2:
            raise rules.ClassNotFound(f"question: there is no question {number} in this class")
        if status == -3:
            raise ClassModeError(f"question {number} is closed: the teacher has revealed the answer")
        if status == -4:
            raise ClassModeError(f"question {number} is closed: the teacher has moved on to question {extra}")

    @_unreachable
    async def explain(self, code: str, student: str, number: int, text: str) -> None:
        line = rules.clean_explanation(text)
        await self._meta(code)
        await self._student(code, student)
        rules.check_explainable(await self._load(code, number), number, student)
        await self._run("explain", code, student, number, line)

    async def _chosen(self, code: str, number: int | None) -> int:
        current, count = await self._meta(code, "current", "questions")
        return pick_question(int(current), number, int(count))

    @_unreachable
    async def revote(self, code: str, number: int | None = None) -> None:
        chosen = await self._chosen(code, number)
        status, extra = await self._run("revote", code, chosen, rules.MAX_ROUNDS)
        if status == -3:
            raise ClassModeError(f"question {chosen} is already revealed; send a new question instead")
        if status == -4:
            raise ClassModeError(f"question {chosen} is closed: question {extra} is current")
        if status == -5:
            raise ClassModeError(f"question {chosen} already had its second vote; reveal it next")

    @_unreachable
    async def reveal(self, code: str, number: int | None = None) -> None:
        await self._run("reveal", code, await self._chosen(code, number))

    @_unreachable
    async def tally(self, code: str, number: int | None = None) -> dict:
        current, count, joined = await self._meta(code, "current", "questions", "students")
        if number is None and int(current) == 0:
            return rules.tally(None, int(joined))
        chosen = pick_question(int(current), number, int(count))
        return rules.tally(await self._load(code, chosen), int(joined))

    @_unreachable
    async def current(self, code: str, student: str | None = None) -> dict:
        (current,) = await self._meta(code, "current")
        if student:
            await self._student(code, student)
        state = await self._load(code, int(current)) if int(current) else None
        return rules.student_view(state, student)

    @_unreachable
    async def results_csv(self, code: str) -> str:
        (count,) = await self._meta(code, "questions")
        students = await self._redis.hgetall(self._p(code) + ":students")
        numbers = {s: json.loads(v)[0] for s, v in students.items()}
        states = [await self._load(code, n) for n in range(1, int(count) + 1)]
        return rules.results_csv([s for s in states if s is not None], numbers)

    @_unreachable
    async def end(self, code: str) -> None:
        (count,) = await self._meta(code, "questions")
        p = self._p(code)
        keys = [f"{p}:meta", f"{p}:students"]
        for n in range(1, int(count) + 1):
            keys += [f"{p}:q:{n}", f"{p}:why:{n}"] + [f"{p}:a:{n}:{r}" for r in range(1, rules.MAX_ROUNDS + 1)]
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(*keys)
        pipe.publish(f"{p}:events", "ended")
        await pipe.execute()

    @asynccontextmanager
    async def changes(self, code: str):
        await self._meta(code)
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._p(code) + ":events")

            async def wait(timeout: float) -> bool:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
                    if message is None:
                        return False
                    # Coalesce a burst (60 answers in two seconds): one tally read for all of them.
                    while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0):
                        pass
                    return True
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    raise ClassModeUnavailable(f"class mode lost Redis at {self.where}") from exc

            yield wait
        finally:
            try:
                await pubsub.unsubscribe()
                await pubsub.aclose()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                pass

    async def close(self) -> None:
        await self._redis.aclose()
