-- chat.lua: a Wireshark dissector for chat/1, the protocol of chat-server and chat-client.
--
-- docs/PROTOCOL.md describes the wire exactly; this file shows it in Wireshark's packet list:
-- `JOIN bob`, `alice: hi`, `PM alice -> bob: see you at 3`, `FILE notes.txt (11 bytes) from
-- alice`, and fields to filter on, such as `chat.user == "alice"` or `chat.frame == "file"`.
--
-- Use it without installing anything:
--     tshark -X lua_script:contrib/wireshark/chat.lua -r session.pcapng
--     wireshark -X lua_script:contrib/wireshark/chat.lua session.pcapng
-- or copy it to ~/.local/lib/wireshark/plugins/ to have it always. Written for Wireshark 4.x
-- (Debian 12 ships 4.0, with Lua 5.2).
--
-- Reading order:
--   1. the protocol and its fields: what you can filter on
--   2. expert info: what breaks the protocol
--   3. conversations: which side is the server, and where the handshake stands
--   4. lines: finding one, and the checks every line gets
--   5. reading a frame: where it ends (a line, or a file with its bytes)
--   6. showing a frame: one small function per kind, in two tables (server, client)
--   7. the dissector: frames out of a TCP stream, with TCP reassembly
--   8. registration: port 12345, Decode As, and a heuristic for any port

local chat = Proto("chat", "chat/1")

---------------------------------------------------------------------------------------------------
-- 1. Fields. `chat.frame` is the kind of frame: name, message, command, exit, file, empty (from a
-- client); info, welcome, users, history, join, leave, message, pm, notice, file, error (from the
-- server); auth and password, the frames of user accounts (a server built with the feature
-- accounts; see 6.); unknown for a tag this dissector does not know.
---------------------------------------------------------------------------------------------------

local f = {
    frame     = ProtoField.string("chat.frame", "Frame kind"),
    direction = ProtoField.string("chat.direction", "Direction"),
    user      = ProtoField.string("chat.user", "User"),
    text      = ProtoField.string("chat.text", "Text"),
    users     = ProtoField.string("chat.users", "Users online"),
    error     = ProtoField.string("chat.error", "Error"),
    file_name = ProtoField.string("chat.file.name", "File name"),
    file_size = ProtoField.uint64("chat.file.size", "File size", base.DEC),
    file_data = ProtoField.bytes("chat.file.data", "File bytes"),
    file_form = ProtoField.string("chat.file.form", "File form"),
    command   = ProtoField.string("chat.command", "Command"),      -- /users, /msg, /files ...
    args      = ProtoField.string("chat.args", "Arguments"),       -- what follows the command
    recipient = ProtoField.string("chat.recipient", "Recipient"),  -- of a private message
    time      = ProtoField.absolute_time("chat.time", "Time", base.UTC), -- of a [HISTORY] message
    tag       = ProtoField.string("chat.tag", "Tag"),              -- of an unknown [TAG]:
}
chat.fields = f

-- The server's --max-line. A server may be started with another one, hence a preference:
-- tshark -o chat.max_line:8192 ...
chat.prefs.max_line = Pref.uint("Longest client line (bytes)", 4096,
    "The server's --max-line: a longer line from a client gets [ERROR]:line too long")

-- A client accepts lines of the server up to 64 KiB: a message line carries a name prefix, so it
-- may be a little longer than the server's own limit.
local MAX_SERVER_LINE = 65536

---------------------------------------------------------------------------------------------------
-- 2. Expert info: warnings on what breaks the protocol (`-z expert` in tshark, Analyze > Expert
-- Information in Wireshark), and a note on each [ERROR] the server answers.
---------------------------------------------------------------------------------------------------

local function warning(name, what)
    return ProtoExpert.new("chat." .. name, what, expert.group.PROTOCOL, expert.severity.WARN)
end

local e = {
    long_line = warning("long_line", "Line over the length limit"),
    control   = warning("control_character", "Control character in a line"),
    utf8      = warning("invalid_utf8", "Line not valid UTF-8"),
    no_end    = warning("no_end", "File bytes not followed by <END>"),
    bad_size  = warning("bad_size", "File size not a decimal number"),
    not_frame = warning("not_a_frame", "Server line that is no chat/1 frame"),
    refused   = ProtoExpert.new("chat.refused", "The server refused a frame",
                                expert.group.RESPONSE_CODE, expert.severity.NOTE),
}
chat.experts = e

---------------------------------------------------------------------------------------------------
-- 3. Conversations. Two things need memory of the connection:
--   - which port is the server's: the frames differ by direction;
--   - whether a client line is a name: the server takes the first line as a name, and another one
--     after each [ERROR] until it sends [WELCOME]. After that, lines are messages.
-- The handshake moves in capture order, the first time a frame is seen; what was decided for a
-- frame is remembered, so that Wireshark's later passes (clicking on a packet) show the same.
---------------------------------------------------------------------------------------------------

local tcp_stream = Field.new("tcp.stream")
local conversations = {}

-- Wireshark calls init before it reads a capture file (again): forget the last one.
function chat.init()
    conversations = {}
end

-- The server speaks first, with [INFO]:. Without that (a capture that starts later), the port we
-- were called for (12345, or the one picked in Decode As), else the lower port.
local function server_port(pinfo, bytes)
    if bytes:sub(1, 7) == "[INFO]:" then
        return pinfo.src_port
    end
    if pinfo.match_uint == pinfo.src_port or pinfo.match_uint == pinfo.dst_port then
        return pinfo.match_uint
    end
    return math.min(pinfo.src_port, pinfo.dst_port)
end

-- Where the handshake stands.
local function handshake()
    return {
        expect_name = true,      -- the next client line is a name
        expect_password = false, -- the next client line is a password (accounts)
        joined = false,          -- [WELCOME] was seen
        user = nil,              -- the client's name: the last one tried, then the welcomed one
    }
end

local function conversation(pinfo, bytes)
    local stream = tcp_stream().value
    local conv = conversations[stream]
    if conv == nil then
        conv = {
            server_port = server_port(pinfo, bytes),
            live = handshake(),
            -- Frames first seen in a later pass are what a client sent before the greeting on a
            -- port found by the heuristic (tshark -2, or a click in Wireshark): the server had
            -- answered nothing yet, so they follow a handshake of their own.
            early = handshake(),
            seen = {}, -- per frame: its kind and user, decided the first time
        }
        conversations[stream] = conv
    end
    return conv
end

-- What a frame changes in the handshake; called once per frame, in capture order.
local function advance(state, from_server, kind, text)
    if from_server then
        if kind == "welcome" then
            state.joined, state.expect_name = true, false
            state.user = text:sub(#"[WELCOME]:" + 1)
        elseif kind == "error" and not state.joined then
            state.expect_name = true -- that name was refused: the next line is another try
        elseif kind == "auth" then
            state.expect_password = true
        end
    elseif kind == "name" then
        state.expect_name, state.user = false, text
    elseif kind == "password" then
        state.expect_password = false
    end
end

---------------------------------------------------------------------------------------------------
-- 4. Lines. A line ends at LF; a CR right before it is dropped. `bytes` is the TCP payload as a
-- Lua string, positions are 1-based as in Lua.
---------------------------------------------------------------------------------------------------

-- The line starting at `at`: its text, its first and last byte, and where what follows starts.
-- nil when its LF has not arrived yet.
local function line_at(bytes, at)
    local lf = bytes:find("\n", at, true)
    if lf == nil then
        return nil
    end
    local last = lf - 1
    if last >= at and bytes:byte(last) == 13 then
        last = last - 1
    end
    return { first = at, last = last, text = bytes:sub(at, last), next = lf + 1 }
end

-- True when `s` is valid UTF-8 (Lua 5.2 has no utf8 library). Rejects what Rust's
-- str::from_utf8 rejects: stray continuation bytes, overlong forms, surrogates, above U+10FFFF.
local function is_utf8(s)
    if not s:find("[\128-\255]") then
        return true -- ASCII, the usual case
    end
    local i = 1
    while i <= #s do
        local c = s:byte(i)
        local n, low, high = 0, 0x80, 0xBF -- continuation bytes, and the range of the first one
        if c < 0x80 then n = 0
        elseif c >= 0xC2 and c <= 0xDF then n = 1
        elseif c == 0xE0 then n, low = 2, 0xA0
        elseif c == 0xED then n, high = 2, 0x9F
        elseif c >= 0xE1 and c <= 0xEF then n = 2
        elseif c == 0xF0 then n, low = 3, 0x90
        elseif c == 0xF4 then n, high = 3, 0x8F
        elseif c >= 0xF1 and c <= 0xF3 then n = 3
        else return false end
        for k = 1, n do
            local b = s:byte(i + k)
            if b == nil or b < low or b > high then
                return false
            end
            low, high = 0x80, 0xBF
        end
        i = i + n + 1
    end
    return true
end

-- The first forbidden control character of a line (docs/PROTOCOL.md: U+0000-U+001F except TAB,
-- U+007F, U+0080-U+009F), as its position and code point; nil when there is none.
local function control_character(s)
    local at = s:find("[\0-\8\10-\31\127]")
    local c1 = s:find("\194[\128-\159]") -- U+0080-U+009F in UTF-8
    if c1 and (at == nil or c1 < at) then
        return c1, s:byte(c1 + 1)
    end
    if at then
        return at, s:byte(at)
    end
end

-- The framing rules every line follows, as warnings on `item`.
local function check_line(item, line, limit)
    if #line.text > limit then
        item:add_proto_expert_info(e.long_line, string.format(
            "Line of %d bytes, over the limit of %d: the server answers [ERROR]:line too long",
            #line.text, limit))
    end
    local at, code = control_character(line.text)
    if at then
        item:add_proto_expert_info(e.control, string.format(
            "Control character U+%04X at byte %d: the line is refused whole", code, at))
    end
    if not is_utf8(line.text) then
        item:add_proto_expert_info(e.utf8, "Line not valid UTF-8: the server answers [ERROR]:invalid UTF-8")
    end
end

-- A text for the Info column: control characters replaced, long texts cut (at a UTF-8 boundary).
local function short(text)
    text = text:gsub("[\0-\31\127]", "\239\191\189") -- U+FFFD
    if #text <= 80 then
        return text
    end
    local cut = 80
    while cut > 1 and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xC0 do
        cut = cut - 1
    end
    return text:sub(1, cut) .. "..."
end

---------------------------------------------------------------------------------------------------
-- 5. Reading a frame: where does it end? A frame is one line, except a file:
--   sized form   [FILE]:<name>:<size> (from a server: [FILE]:<from>:<name>:<size>), exactly <size>
--                bytes, then <END> LF (or <END> CR LF)
--   text form    [FILE]:<name> from a client, then lines up to a line that is exactly <END>
-- read_frame returns the frame, or nil and how many more bytes it needs at least.
---------------------------------------------------------------------------------------------------

local END_LF, END_CRLF = "<END>\n", "<END>\r\n"

local function starts(s, prefix)
    return s:sub(1, #prefix) == prefix
end

-- The body of a sized file, then its <END>. A body not followed by <END> is reported, not waited
-- for: the sender's stream is out of step, and the server closes the connection.
local function read_sized_body(bytes, frame)
    local body = frame.line.next
    local end_at = body + frame.size -- where <END> must start
    if end_at > #bytes + 1 then
        return nil, end_at - 1 - #bytes + #END_LF
    end
    frame.body = { first = body, last = end_at - 1 }
    local tail = bytes:sub(end_at, end_at + #END_CRLF - 1)
    for _, marker in ipairs({ END_LF, END_CRLF }) do
        if starts(tail, marker) then
            frame.stop = end_at + #marker
            return frame
        end
    end
    if starts(END_LF, tail) or starts(END_CRLF, tail) then
        return nil, math.max(1, end_at + #END_LF - 1 - #bytes) -- <END> is on its way
    end
    frame.missing_end = true
    frame.stop = end_at
    return frame
end

-- The lines of a text-form file, up to its <END> line.
local function read_text_body(bytes, frame)
    frame.lines = {}
    local at = frame.line.next
    while true do
        local line = line_at(bytes, at)
        if line == nil then
            return nil, DESEGMENT_ONE_MORE_SEGMENT
        end
        if line.text == "<END>" then
            frame.stop = line.next
            return frame
        end
        table.insert(frame.lines, line)
        at = line.next
    end
end

local function read_frame(bytes, at, from_server)
    local line = line_at(bytes, at)
    if line == nil then
        return nil, DESEGMENT_ONE_MORE_SEGMENT -- a line ends only at its LF
    end
    local frame = { first = at, line = line, stop = line.next }
    if not starts(line.text, "[FILE]:") then
        return frame
    end
    -- The size is the field after the last ':'; no ':' at all is a client's text form.
    local fields = line.text:sub(8)
    local last_colon = fields:match(".*():")
    if last_colon == nil and not from_server then
        frame.fields = fields
        return read_text_body(bytes, frame)
    end
    local size = last_colon and fields:sub(last_colon + 1) or ""
    frame.fields = last_colon and fields:sub(1, last_colon - 1) or fields -- what is before the size
    if not size:match("^%d+$") then
        frame.bad_size = true -- where the frame ends is unknown: the server closes the connection
        return frame
    end
    frame.size = tonumber(size)
    frame.size_at = #"[FILE]:" + last_colon + 1 -- where the size starts in the line
    return read_sized_body(bytes, frame)
end

---------------------------------------------------------------------------------------------------
-- 6. Showing a frame. A frame kind is one entry of a table: a small function that adds its
-- fields to the frame's subtree and returns its Info text. `fr` is the frame being shown, with
-- helpers to point a field at part of its line (the bytes are highlighted in Wireshark).
---------------------------------------------------------------------------------------------------

local Shown = {}
Shown.__index = Shown

-- The part of the line from its byte `i` to byte `j` (to its end without `j`): its text, its
-- bytes, and where it starts in the line.
function Shown:part(i, j)
    j = j or #self.text
    local offset = self.frame.line.first - 1 + i - 1
    return { i = i, text = self.text:sub(i, j), range = self.tvb(offset, math.max(0, j - i + 1)) }
end

-- The part of the line after `[TAG]:`.
function Shown:rest()
    return self:part(self.text:find(":", 1, true) + 1)
end

-- Splits a part at the first `sep`: the part before it and the part after it (empty without it).
function Shown:split(part, sep)
    local last = part.i + #part.text - 1
    local at = part.text:find(sep, 1, true)
    if at == nil then
        return part, self:part(last + 1, last)
    end
    return self:part(part.i, part.i + at - 2), self:part(part.i + at - 1 + #sep, last)
end

-- A part without the spaces it starts with (more than one space separates a command's words).
function Shown:trim(part)
    local spaces = #part.text:match("^ *")
    return self:part(part.i + spaces, part.i + #part.text - 1)
end

function Shown:add(field, part)
    return self.tree:add(field, part.range, part.text)
end

-- The client's name, from the conversation: not in the frame's bytes, so shown as generated.
-- `field` is f.user (who sent a client frame) or f.recipient (who a [PM] is for).
function Shown:add_user(field)
    if self.user then
        self.tree:add(field or f.user, self.tvb(self.frame.first - 1, 0), self.user):set_generated()
    end
end

-- The Info text of a private message, both ways: `PM alice -> bob: see you at 3` (without the
-- arrow when the recipient is unknown: a capture that started after the [WELCOME]).
local function pm_info(from, to, text)
    return "PM " .. from .. (to and " -> " .. to or "") .. ": " .. short(text)
end

-- A file, sized or text form: its fields, and its Info text.
function Shown:file(name, from)
    local frame = self.frame
    local sender = from and " from " .. from or ""
    self:add(f.file_name, name)
    if frame.bad_size then
        self.tree:add_proto_expert_info(e.bad_size,
            "File size not a decimal number: the server closes the connection")
        return "FILE " .. short(name.text) .. " (bad size)" .. sender
    end
    local size, body
    if frame.lines then -- the text form: the content is its lines, each ended by LF
        size = 0
        for _, line in ipairs(frame.lines) do
            size = size + #line.text + 1
            check_line(self.tree, line, chat.prefs.max_line)
        end
        local first = frame.line.next
        local last = #frame.lines > 0 and frame.lines[#frame.lines].next - 1 or first - 1
        body = self.tvb(first - 1, last - first + 1)
        self.tree:add(f.file_form, body, "text"):set_generated()
        self.tree:add(f.file_size, body, UInt64(size)):set_generated()
    else
        size = frame.size
        body = self.tvb(frame.body.first - 1, frame.body.last - frame.body.first + 1)
        self.tree:add(f.file_form, body, "sized"):set_generated()
        self.tree:add(f.file_size, self:part(frame.size_at).range, UInt64(size))
        if frame.missing_end then
            self.tree:add_proto_expert_info(e.no_end,
                "The file's bytes are not followed by <END>: the stream is out of step")
        end
    end
    self.tree:add(f.file_data, body)
    return string.format("FILE %s (%d bytes)%s", short(name.text), size, sender)
end

-- The server's frames: `[TAG]:...`, a message `<name>: <text>`, or a file.
local server_frames = {
    info    = function(fr) fr:add(f.text, fr:rest()); return "INFO " .. short(fr:rest().text) end,
    welcome = function(fr) fr:add(f.user, fr:rest()); return "WELCOME " .. fr:rest().text end,
    users   = function(fr) fr:add(f.users, fr:rest()); return "USERS " .. short(fr:rest().text) end,
    join    = function(fr) fr:add(f.user, fr:rest()); return "JOIN " .. fr:rest().text end,
    leave   = function(fr) fr:add(f.user, fr:rest()); return "LEAVE " .. fr:rest().text end,
    error   = function(fr)
        local why = fr:rest()
        fr:add(f.error, why)
        fr.tree:add_proto_expert_info(e.refused, "The server says: " .. short(why.text))
        return "ERROR " .. short(why.text)
    end,
    message = function(fr)
        local from, text = fr:split(fr:part(1), ": ")
        fr:add(f.user, from)
        fr:add(f.text, text)
        return from.text .. ": " .. short(text.text)
    end,
    pm      = function(fr) -- [PM]:<from>:<text>, to this connection's user alone
        local from, text = fr:split(fr:rest(), ":")
        fr:add(f.user, from)
        fr:add_user(f.recipient)
        fr:add(f.text, text)
        return pm_info(from.text, fr.user, text.text)
    end,
    history = function(fr) -- [HISTORY]:<unix-seconds>:<name>:<text>, right after [USERS]
        local secs, said = fr:split(fr:rest(), ":")
        local from, text = fr:split(said, ":")
        if secs.text:match("^%d+$") then
            fr.tree:add(f.time, secs.range, NSTime(tonumber(secs.text), 0))
        end
        fr:add(f.user, from)
        fr:add(f.text, text)
        return "HISTORY " .. from.text .. ": " .. short(text.text)
    end,
    notice  = function(fr) -- [NOTICE]:<text>, from the operator's console (/say)
        fr:add(f.text, fr:rest())
        return "NOTICE " .. short(fr:rest().text)
    end,
    file    = function(fr) -- [FILE]:<from>:<name>:<size>
        local from, name = fr:split(fr:part(8, 7 + #fr.frame.fields), ":")
        fr:add(f.user, from)
        return fr:file(name, from.text)
    end,
    unknown = function(fr)
        local tag = fr.text:match("^%[([^%]]*)%]:")
        if tag == nil then
            fr.tree:add_proto_expert_info(e.not_frame,
                "Neither a [TAG]: nor <name>: <text>: a client refuses this line")
            return short(fr.text)
        end
        fr:add(f.tag, fr:part(2, 1 + #tag))
        fr:add(f.text, fr:rest())
        return short(fr.text)
    end,

    -- User accounts (the feature accounts): the server asks a registered name for its password.
    auth    = function(fr) -- [AUTH]:password for <name>
        local rest = fr:rest()
        fr:add(f.text, rest)
        local name = rest.text:match("^password for (.*)$")
        if name then
            fr:add(f.user, fr:part(#fr.text - #name + 1))
        end
        return "AUTH " .. short(rest.text)
    end,
}

-- The kind of a server line: told by its tag, or a message when it starts with a name.
local function server_kind(text)
    if starts(text, "[FILE]:") then
        return "file"
    end
    local tag = text:match("^%[(%u+)%]:")
    if tag then
        local kind = tag:lower()
        return server_frames[kind] and kind ~= "message" and kind ~= "unknown" and kind or "unknown"
    end
    if text:match("^[%w_.-]+: ") then -- usernames cannot hold '[': a message is no tag
        return "message"
    end
    return "unknown"
end

-- A client's command line: `/word`, then its arguments after one or more spaces. `/msg NAME
-- TEXT` is a private message, shown as one; every other command as it was typed. Whether the
-- command fits its form is the server's to say: it answers with an [ERROR] when it does not.
local function command(fr)
    local word, args = fr:split(fr:part(1), " ")
    args = fr:trim(args)
    fr:add_user()
    fr:add(f.command, word)
    fr:add(f.args, args)
    if word.text == "/msg" then
        local to, text = fr:split(args, " ")
        text = fr:trim(text)
        if to.text ~= "" and text.text ~= "" then
            fr:add(f.recipient, to)
            fr:add(f.text, text)
            return pm_info(fr.user or "?", to.text, text.text)
        end
    end
    return "COMMAND " .. short(fr.text)
end

-- The client's frames.
local client_frames = {
    name    = function(fr) fr:add(f.user, fr:part(1)); return "NAME " .. short(fr.text) end,
    message = function(fr)
        local text = fr:part(starts(fr.text, "//") and 2 or 1) -- `//x` is the message `/x`
        fr:add_user()
        fr:add(f.text, text)
        return (fr.user or "MSG") .. ": " .. short(text.text)
    end,
    command = command,
    exit    = function(fr) fr:add_user(); return "EXIT" end,
    empty   = function(fr) return "(empty line)" end,
    file    = function(fr) -- [FILE]:<name>:<size> or [FILE]:<name>
        fr:add_user()
        return fr:file(fr:part(8, 7 + #fr.frame.fields), fr.user)
    end,

    -- User accounts (the feature accounts): the password that answers [AUTH].
    password = function(fr)
        fr:add_user()
        fr:add(f.text, fr:part(1))
        return "PASSWORD (" .. #fr.text .. " characters, in clear text)"
    end,
}

-- The kind of a client line; names and passwords depend on the handshake (3.). The line after
-- [AUTH] is the password whatever it holds, as the server takes it: `exit`, an empty line, even
-- `[FILE]:...` (read as a file header, it would put the rest of the stream out of step).
local function client_kind(text, state)
    if state.expect_password then return "password" end
    if starts(text, "[FILE]:") then return "file" end
    if text == "" then return "empty" end
    if text == "exit" then return "exit" end
    if state.expect_name then return "name" end
    if starts(text, "/") and not starts(text, "//") then return "command" end
    return "message"
end

---------------------------------------------------------------------------------------------------
-- 7. The dissector. TCP hands over what arrived: maybe half a frame, maybe several frames. Each
-- whole frame is shown; for a frame that goes on, we tell TCP where it starts and how many more
-- bytes it needs (desegment_offset, desegment_len), and TCP calls again with them put together.
---------------------------------------------------------------------------------------------------

-- Adds one frame to the Info column; several in one segment are separated by " | ". After 10,
-- only their count grows: a flood puts hundreds of frames in a segment.
local MAX_INFO_FRAMES = 10
local function add_info(pinfo, index, text)
    if index == 1 then
        pinfo.cols.info:set(text)
    elseif index <= MAX_INFO_FRAMES then
        pinfo.cols.info:append(" | " .. text)
    else
        if index == MAX_INFO_FRAMES + 1 then
            pinfo.private.chat_info = tostring(pinfo.cols.info)
        end
        pinfo.cols.info:set(string.format("%s | ... (%d frames)", pinfo.private.chat_info, index))
    end
end

local function show_frame(tvb, pinfo, tree, conv, frame, from_server)
    -- Several calls (and later passes) for one packet: number its frames to remember each.
    local index = tonumber(pinfo.private.chat_frames or "0") + 1
    pinfo.private.chat_frames = tostring(index)
    local key = pinfo.number .. "/" .. index
    local text = frame.line.text

    local seen = conv.seen[key]
    if seen == nil then -- first time: decide, and move the handshake on
        local state = pinfo.visited and conv.early or conv.live
        local kind = from_server and server_kind(text) or client_kind(text, state)
        seen = { kind = kind, user = state.user }
        conv.seen[key] = seen
        advance(state, from_server, kind, text)
    end

    local item = tree:add(chat, tvb(frame.first - 1, frame.stop - frame.first))
    local fr = setmetatable({ tvb = tvb, tree = item, frame = frame, text = text, user = seen.user }, Shown)
    item:add(f.frame, tvb(frame.first - 1, #text), seen.kind)
    item:add(f.direction, from_server and "server to client" or "client to server"):set_generated()
    check_line(item, frame.line, from_server and MAX_SERVER_LINE or chat.prefs.max_line)

    local frames = from_server and server_frames or client_frames
    local info = frames[seen.kind](fr)
    item:append_text(", " .. (from_server and "server: " or "client: ") .. info)
    add_info(pinfo, index, info)
end

function chat.dissector(tvb, pinfo, tree)
    local bytes = tvb:raw()
    local conv = conversation(pinfo, bytes)
    local from_server = pinfo.src_port == conv.server_port
    pinfo.cols.protocol = "CHAT"

    local at = 1
    while at <= #bytes do
        local frame, missing = read_frame(bytes, at, from_server)
        if frame == nil then
            if not pinfo.can_desegment or pinfo.can_desegment == 0 then
                tree:add(chat, tvb(at - 1)):append_text(" (the rest of a frame: enable TCP reassembly)")
                return #bytes
            end
            pinfo.desegment_offset = at - 1
            -- desegment_len is 32 bits: beyond, ask segment by segment.
            pinfo.desegment_len = missing < 0x7fffffff and missing or DESEGMENT_ONE_MORE_SEGMENT
            return #bytes
        end
        show_frame(tvb, pinfo, tree, conv, frame, from_server)
        at = frame.stop
    end
    return #bytes
end

---------------------------------------------------------------------------------------------------
-- 8. Registration: TCP port 12345 (the server's default), so Decode As > chat also offers it for
-- any other port; and a heuristic that recognises the server's greeting on any port, after which
-- the whole connection, both ways, comes here.
---------------------------------------------------------------------------------------------------

DissectorTable.get("tcp.port"):add(12345, chat)

local function greeting(tvb, pinfo, tree)
    if tvb:len() < 7 or tvb:raw(0, 7) ~= "[INFO]:" then
        return false
    end
    pinfo.conversation = chat
    chat.dissector(tvb, pinfo, tree)
    return true
end

chat:register_heuristic("tcp", greeting)
