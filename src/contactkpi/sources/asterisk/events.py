"""The queue_log events contactkpi knows: their parameters, role and where they are documented.

Every event is one :class:`EventSpec`. ``params`` names the ``|``-separated parameters after
the event name in the order Asterisk writes them; ``numeric`` lists the (1-based) parameters
that must be whole numbers when present (an older Asterisk writes fewer parameters, so a
missing one is never an error). ``kind`` says what the event is about:

- ``call``: a caller's visit to a queue (the callid is the caller channel's uniqueid);
- ``member``: a queue member or agent (login, membership, pause), keyed by the agent field;
- ``system``: the queue subsystem itself (start, reload);
- ``info``: call-scoped facts that change no contact field.

Sources quoted: *doc* = Asterisk documentation, "Queue Logs" page
(docs.asterisk.org/Operation/Logging/Queue-Logs/, asterisk/documentation
``docs/Operation/Logging/Queue-Logs.md``); *src* = ``apps/app_queue.c`` (the
``ast_queue_log(...)`` call that writes the event); *schema* = the realtime ``queue_log``
table comment in Asterisk's contrib realtime SQL ("One of ADDMEMBER, REMOVEMEMBER, ...,
PENALTY, ..., or another defined by the user"); *dialplan* = written with ``QueueLog()`` by
common dialplans (FreePBX, QueueMetrics), not by app_queue itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class EventSpec:
    """One queue_log event: parameter names, which are numbers, role and documentation."""

    name: str
    kind: str  # call | member | system | info
    params: tuple[str, ...]
    numeric: tuple[int, ...]
    quote: str
    source: str


def _e(name: str, kind: str, params: str, numeric: tuple[int, ...], quote: str,
       source: str = "doc") -> EventSpec:
    return EventSpec(name, kind, tuple(p for p in params.split("|") if p), numeric, quote,
                     source)


_SPECS = (
    # -- a caller's visit ------------------------------------------------------------------
    _e("ENTERQUEUE", "call", "url|callerid|origposition|calleridname", (3,),
       "A call has entered the queue. The log entry always includes the URL (if specified), "
       "the Caller ID Number, and the caller's original position in the queue (recorded in "
       "origposition)."),
    _e("RINGNOANSWER", "call", "ringtime", (1,),
       "After trying for ringtime ms to connect to the available queue member, the attempt "
       "ended without the member picking up the call."),
    _e("RINGCANCELED", "call", "ringtime", (1,),
       "A caller is ringing a queue member, but that caller hangs up before the member "
       "answers or times out. (src: ``\"RINGCANCELED\", \"%d\"`` with the ms rung so far.)",
       "doc+src"),
    _e("CONNECT", "call", "holdtime|bridgedchanneluniqueid|ringtime", (1, 3),
       "The caller was connected to an agent. Hold time represents the amount of time the "
       "caller was on hold. [...] Ringtime represents the time the queue members phone was "
       "ringing prior to being answered."),
    _e("COMPLETEAGENT", "call", "holdtime|calltime|origposition", (1, 2, 3),
       "The caller was connected to an agent, and the call was terminated normally by the "
       "agent. The caller's hold time and the length of the call are both recorded."),
    _e("COMPLETECALLER", "call", "holdtime|calltime|origposition", (1, 2, 3),
       "The caller was connected to an agent, and the call was terminated normally by the "
       "caller. The caller's hold time and the length of the call are both recorded."),
    _e("TRANSFER", "call", "extension|context|holdtime|calltime|origposition", (3, 4, 5),
       "Caller was transferred to a different extension. Context and extension are recorded. "
       "The caller's hold time and the length of the call are both recorded, as is the "
       "caller's entry position at the time of the transfer."),
    _e("BLINDTRANSFER", "call", "extension|context|holdtime|calltime|origposition", (3, 4, 5),
       "(Added in 12) A blind transfer will result in a BLINDTRANSFER message with the "
       "destination context and extension."),
    _e("ATTENDEDTRANSFER", "call", "method|method-data|holdtime|calltime|origposition",
       (3, 4, 5),
       "(Added in 12) This message will indicate the method by which the attended transfer "
       "was completed: BRIDGE for a bridge merge, APP for running an application on a bridge "
       "or channel, or LINK for linking two bridges together with local channels. (src: LINK "
       "writes two channel names, so holdtime|calltime|origposition are the last three.)"),
    _e("ABANDON", "call", "position|origposition|waittime", (1, 2, 3),
       "The caller abandoned their position in the queue. The position is the caller's "
       "position in the queue when they hungup, the origposition is the original position "
       "the caller was when they first entered the queue, and the waittime is how long the "
       "call had been waiting in the queue at the time of disconnect."),
    _e("EXITEMPTY", "call", "position|origposition|waittime", (1, 2, 3),
       "The caller was exited from the queue forcefully because the queue had no reachable "
       "members and it's configured to do that to callers when there are no reachable "
       "members."),
    _e("EXITWITHKEY", "call", "key|position|origposition|waittime", (2, 3, 4),
       "The caller elected to use a menu key to exit the queue. The key and the caller's "
       "position in the queue are recorded. The caller's entry position and amount of time "
       "waited is also recorded."),
    _e("EXITWITHTIMEOUT", "call", "position|origposition|waittime", (1, 2, 3),
       "The caller was on hold too long and the timeout expired. The position in the queue "
       "when the timeout occurred, the entry position, and the amount of time waited are "
       "logged."),
    _e("SYSCOMPAT", "call", "", (),
       "A call was answered by an agent, but the call was dropped because the channels were "
       "not compatible."),
    _e("AGENTDUMP", "call", "", (),
       "The agent dumped the caller while listening to the queue announcement."),
    # -- call-scoped facts written by dialplans ---------------------------------------------
    _e("DID", "info", "did", (),
       "The number the caller dialled, written with QueueLog() just before Queue() "
       "(FreePBX, QueueMetrics); it changes no contact field.", "dialplan"),
    _e("INFO", "info", "info|data", (),
       "Free information attached to a call with QueueLog() (QueueMetrics convention); it "
       "changes no contact field.", "dialplan"),
    # -- members and agents ------------------------------------------------------------------
    _e("ADDMEMBER", "member", "paused", (),
       "A member was added to the queue. The bridged channel name will be populated with "
       "the name of the channel added to the queue."),
    _e("REMOVEMEMBER", "member", "", (),
       "A queue member was removed from the queue. The bridge channel field will contain "
       "the name of the member removed from the queue."),
    _e("PAUSE", "member", "reason", (),
       "src set_queue_member_pause(): ``ast_queue_log(q->name, \"NONE\", mem->membername, "
       "(paused ? \"PAUSE\" : \"UNPAUSE\"), \"%s\", S_OR(reason, \"\"))``; PauseQueueMember "
       "doc: the reason \"is used to add extra information to the appropriate queue_log "
       "entries\".", "src"),
    _e("UNPAUSE", "member", "reason", (), "See PAUSE: the member takes calls again.", "src"),
    _e("PAUSEALL", "member", "reason", (),
       "src set_member_paused(): logged once before the per-queue PAUSE lines when no queue "
       "is named (\"Special event for when all queues are paused - individual events still "
       "generated\").", "src"),
    _e("UNPAUSEALL", "member", "reason", (), "See PAUSEALL.", "src"),
    _e("PENALTY", "member", "penalty", (1,),
       "src set_member_penalty_help_members(): ``\"PENALTY\", \"%d\", penalty``.",
       "schema+src"),
    _e("RINGINUSE", "member", "ringinuse", (1,),
       "src set_queue_member_ringinuse(): ``\"RINGINUSE\", \"%d\", ringinuse``.", "src"),
    _e("AGENTLOGIN", "member", "channel", (), "The agent logged in. The channel is recorded."),
    _e("AGENTLOGOFF", "member", "channel|logintime", (2,),
       "The agent logged off. The channel is recorded, along with the total time the agent "
       "was logged in."),
    _e("AGENTCALLBACKLOGIN", "member", "exten@context", (),
       "The callback agent logged in. The login extension and context is recorded."),
    _e("AGENTCALLBACKLOGOFF", "member", "exten@context|logintime|reason", (2,),
       "The callback agent logged off. The last login extension and context is recorded, "
       "along with the total time the agent was logged in, and the reason for the logoff if "
       "it was not a normal logoff (e.g., Autologoff, Chanunavail)"),
    # -- the queue subsystem -----------------------------------------------------------------
    _e("CONFIGRELOAD", "system", "", (),
       "The configuration has been reloaded (e.g. with asterisk -rx reload)"),
    _e("QUEUESTART", "system", "", (),
       "The queueing system has been started for the first time this session."),
)

#: Every known event by name.
EVENTS: Mapping[str, EventSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: Events that end a caller's visit to a queue (the contact is complete).
TERMINAL = ("COMPLETEAGENT", "COMPLETECALLER", "TRANSFER", "BLINDTRANSFER",
            "ATTENDEDTRANSFER", "ABANDON", "EXITEMPTY", "EXITWITHKEY", "EXITWITHTIMEOUT")
#: Terminal events after which the caller had talked to an agent.
ANSWERED = ("COMPLETEAGENT", "COMPLETECALLER", "TRANSFER", "BLINDTRANSFER",
            "ATTENDEDTRANSFER")
TRANSFERS = ("TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER")

#: Canonical outcome of each terminal event (see the package docstring for the reasoning).
OUTCOME = MappingProxyType({
    "COMPLETEAGENT": "answered", "COMPLETECALLER": "answered", "TRANSFER": "answered",
    "BLINDTRANSFER": "answered", "ATTENDEDTRANSFER": "answered", "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout", "EXITWITHKEY": "overflowed", "EXITEMPTY": "overflowed",
})

#: Order of events written in the same second (Asterisk stamps whole seconds): a caller
#: enters, rings members, connects, then leaves; a member is removed before being re-added.
RANK = MappingProxyType({
    "REMOVEMEMBER": 0, "AGENTLOGOFF": 0, "AGENTCALLBACKLOGOFF": 0, "UNPAUSEALL": 1,
    "UNPAUSE": 1, "DID": 1, "INFO": 1, "ENTERQUEUE": 2, "ADDMEMBER": 2, "AGENTLOGIN": 2,
    "AGENTCALLBACKLOGIN": 2, "PAUSEALL": 3, "PAUSE": 3, "PENALTY": 3, "RINGINUSE": 3,
    "RINGNOANSWER": 4, "AGENTDUMP": 4, "SYSCOMPAT": 4, "RINGCANCELED": 5, "CONNECT": 6,
    "CONFIGRELOAD": 0, "QUEUESTART": 0,
    **{t: 7 for t in TERMINAL},
})

#: Largest number of ``|`` fields a line may have (5 fixed + 19 parameters); Asterisk writes
#: at most 11 (ATTENDEDTRANSFER via LINK).
MAX_FIELDS = 24
MAX_PARAMS = MAX_FIELDS - 5

#: SQL types of the closed sets of event names and kinds (an ENUM costs a third of a VARCHAR
#: to write, and compares as a number).
EVENT_ENUM = "ENUM(" + ", ".join(f"'{name}'" for name in sorted(EVENTS)) + ")"
KIND_ENUM = "ENUM(" + ", ".join(f"'{k}'" for k in sorted({e.kind for e in _SPECS})) + ")"
