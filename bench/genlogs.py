#!/usr/bin/env python3
"""Deterministic generator of realistic XMail logs for the benchmark (issue 5).

Writes, under --out DIR:

  DIR/xmail/smtp-YYYYMMDD0000    SMTP log, 13 quoted TAB-separated fields
  DIR/xmail/smail-YYYYMMDD0000   SMAIL log, 9 fields (1.27) or 8 fields (legacy)
                                 (with --hourly, one file per hour, YYYYMMDDHH00, as XMail
                                 writes them with -Mr 1; --hours H puts a day's traffic in
                                 its first H hours, so --hourly --days 1 --legacy-days 0
                                 --hours 4 gives 4 files per kind of a busy host)
  DIR/webmail/error-YYYYMMDD.txt Nmail webmail error log (UTF-8 and EUC-KR lines)
  DIR/expected.json              manifest: exact counts of everything written

Two format variants (see ../shared/reference/xmail-log-formats.md):
  * "1.27"   : RECV=OK, PREDATA/POSTDATA/RCPT=EFILTER, SMTP=ESSL, 9-field SMAIL,
               spool names <ms>.<tid hex>.<pid hex>.<seq hex>.<host>
  * "legacy" : the seed/Nmail-era layout (XMail ~1.23): RCV=OK, DATA=EFILTER (a
               post-RCPT filter rejection logs DATA=EFILTER then RCPT=EFILTER),
               AUTH=EFAIL:TYPE=EXTRN, 8-field SMAIL, spool names ending in .eml

The output depends only on the arguments (fixed default seed), never on the clock,
so the same command always produces byte-identical files.  Python 3.11 stdlib only.
Lines are streamed to the files; memory use is small and constant.
"""

import argparse
import calendar
import datetime as dt
import hashlib
import json
import math
import os
import random
import sys
import time

# Histogram buckets of xmail_smtp_message_size_bytes: 1 KiB, 4 KiB ... 64 MiB (x4).
BUCKETS = [1024 * 4**i for i in range(9)]

SERVER_FQDN = "mail.example.kr"
SERVER_DOMAIN = "example.kr"
LOCAL_DOMAINS = ["example.kr"] * 9 + ["example.ac.kr"]
INITIALS = ["jh", "sy", "dk", "yj", "mk", "hs", "js", "mj", "sh", "yh", "jw", "hj", "ek", "sm"]
DNSBL_LISTS = [
    ("zen.spamhaus.org.", 70),
    ("bl.spamcop.net.", 20),
    ("b.barracudacentral.org.", 10),
]
AUTH_MECHS_MODERN = [("LOGIN", 55), ("PLAIN", 40), ("CRAM-MD5", 5)]
AUTH_MECHS_LEGACY = [("LOGIN", 50), ("PLAIN", 35), ("CRAM-MD5", 5), ("EXTRN", 10)]

SURNAMES = ["kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim",
            "han", "oh", "seo", "shin", "kwon", "hwang", "ahn", "song", "jeon", "hong"]
GIVEN = ["minsu", "jiyoung", "seojun", "hana", "jisoo", "hyun", "sora", "dongha", "yuna",
         "taeho", "eunji", "junho", "mina", "sungmin", "hyejin", "woojin", "nari", "jh",
         "sy", "dk", "yj", "mk"]
ROLE_USERS = ["info", "sales", "support", "admin", "webmaster", "hr", "office", "notice",
              "billing", "help"]

# (domain, weight, mx host, reply style)
REMOTE_DOMAINS = [
    ("gmail.com", 22, "gmail-smtp-in.l.google.com", "gmail"),
    ("naver.com", 20, "mx1.naver.com", "plain"),
    ("daum.net", 8, "mx1.hanmail.net", "plain"),
    ("hanmail.net", 8, "mx2.hanmail.net", "plain"),
    ("nate.com", 5, "mx.nate.com", "postfix"),
    ("kakao.com", 3, "mx1.kakao.com", "postfix"),
    ("outlook.com", 4, "outlook-com.olc.protection.outlook.com", "exchange"),
    ("hotmail.com", 3, "hotmail-com.olc.protection.outlook.com", "exchange"),
    ("yahoo.co.kr", 1, "mta7.am0.yahoodns.net", "plain"),
    ("partner.example.com", 6, "mx1.partner.example.com", "postfix"),
    ("customer.example", 4, "mail.customer.example", "xmail"),
    ("agency.example.go.kr", 3, "mail.agency.example.go.kr", "exchange"),
    ("shop.example.net", 3, "mx.shop.example.net", "postfix"),
    ("bank.example.co.kr", 2, "smtp.bank.example.co.kr", "plain"),
    ("univ.example.ac.kr", 3, "mx.univ.example.ac.kr", "postfix"),
]

# Inbound MTAs: (helo, ptr, weight). The peer IP is drawn per session from the pools below.
INBOUND_MTAS = [
    ("mail-ej1-f41.google.com", "mail-ej1-f41.google.com", 20),
    ("mail-pl1-f176.google.com", "mail-pl1-f176.google.com", 8),
    ("cvsmtppost01.nm.naver.com", "cvsmtppost01.nm.naver.com", 18),
    ("mail1.daum.net", "mail1.daum.net", 10),
    ("smtp.nate.com", "smtp.nate.com", 5),
    ("mail.partner.example.com", "mail.partner.example.com", 8),
    ("mx90.example.net", "mx90.example.net", 6),
    ("out.shop.example.net", "out.shop.example.net", 6),
    ("EUR05-AM6-obe.outbound.protection.outlook.com",
     "mail-am6eur05on2101.outbound.protection.outlook.com", 2),
    ("mail.example.net", "", 8),
    ("smtp.example.org", "smtp.example.org", 6),
    ("newsletter.example.org", "", 5),
    ("mta140.example.com", "mta140.example.com", 5),
]
BOT_HELOS = ["user-pc", "ylmf-pc", "WIN-8KJ3H2Q0LMB", "localhost", "DESKTOP-4F2K9QX", "USER",
             "host", "[203.0.113.4]", "mail.example.co.kr", "example.co.kr", "vps-3f2a",
             "friend\"s-pc", "\"mx\"", "ad\"min"]          # raw '"' in the last three
CLIENT_HELOS = ["[192.168.0.10]", "DESKTOP-7KQ2M1A", "kim-laptop", "MacBook-Pro.local",
                "iPhone", "[10.0.0.23]", "LAPTOP-H8E5D3", "outlook\"pc"]  # raw '"' last
HELO_QUOTE = frozenset(h for h in BOT_HELOS + CLIENT_HELOS if '"' in h)

SPAM_SENDER_DOMAINS = ["bulk.example", "offers.example.top", "promo.example.xyz",
                       "mailer.example.biz", "no-such-domain.example", "cheap.example.info"]
THREADS_127 = ["7f3a9c1fb700", "7f3aa27fc700", "7f3a9b9fa700", "7f3aa1ffb700",
               "7f3a9affe700", "7f3a9d7fd700"]
THREADS_LEGACY = ["2799696816", "2971507632", "2962066352", "2980948912"]

WEBMAIL_MESSAGES = [
    # (text, weight) -- UTF-8 and (some) EUC-KR encoded on output
    ("login failed: invalid password for user {u}", 30),
    ("로그인 실패: 비밀번호가 일치하지 않습니다 ({u})", 15),
    ("SMTP error: 550 5.7.1 relay denied while sending mail from {u}", 8),
    ("메일 발송 실패: SMTP 서버 응답 없음 ({u})", 6),
    ("mailbox quota exceeded for {u}", 6),
    ("메일함 용량 초과: {u}", 4),
    ("permission denied: /home/nmail2/data/{u}/attach", 3),
    ("DB error: Lost connection to MySQL server during query", 3),
    ("PHP Warning:  fsockopen(): unable to connect to 127.0.0.1:110 (Connection refused)"
     " in /home/nmail2/public_html/lib/pop3.php on line 88", 5),
    ("PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted"
     " in /home/nmail2/public_html/lib/mime.php on line 412", 2),
    ("POP3 error: -ERR mailbox locked ({u})", 4),
    ("첨부파일 업로드 실패: 파일 크기 제한 초과 ({u})", 3),
]


class HourFiles:
    """One log kind's files of one day: a line goes to the file of the hour of the last
    timestamp written (gen._ts_sec), or to the day's one file when not hourly.  Every
    write() is one line."""

    def __init__(self, gen, xdir, kind, date, hourly):
        self.gen, self.xdir, self.kind, self.date, self.hourly = gen, xdir, kind, date, hourly
        self.open = {}                     # hour -> file
        self.lines = {}                    # path -> lines

    def write(self, line):
        hour = max(self.gen._ts_sec, 0) // 3600 if self.hourly else 0
        f = self.open.get(hour)
        if f is None:
            name = self.date.strftime("%Y%m%d") + f"{hour:02d}00"
            path = os.path.join(self.xdir, f"{self.kind}-{name}")
            f = open(path, mode="w", encoding="latin-1", newline="\n", buffering=1 << 20)
            self.open[hour] = f
            self.lines[path] = 0
        f.write(line)
        self.lines[f.name] += 1

    def close(self):
        for f in self.open.values():
            f.close()
        if not self.open:                  # a day without lines still has its (empty) file
            name = self.date.strftime("%Y%m%d") + "0000"
            path = os.path.join(self.xdir, f"{self.kind}-{name}")
            open(path, "w").close()
            self.lines[path] = 0


def weighted(items):
    """[(value, weight), ...] -> (values, cum_weights) for rng.choices."""
    vals, cum, total = [], [], 0
    for v, w in items:
        total += w
        vals.append(v)
        cum.append(total)
    return vals, cum


class DayDone(Exception):
    pass


class Gen:
    def __init__(self, args):
        self.args = args
        self.span = args.hours * 3600          # seconds of a day that have traffic
        self.rng = random.Random(args.seed)
        rng = self.rng
        # ----- static pools (deterministic from the seed) -----
        users = set()
        while len(users) < 420:
            sur = rng.choice(SURNAMES)
            ini = rng.choice(INITIALS)
            form = rng.random()
            if form < 0.45:
                users.add(f"{sur}{ini}")
            elif form < 0.75:
                users.add(f"{ini}.{sur}")
            else:
                users.add(f"{sur}{rng.randint(1, 99)}")
        users = sorted(users) + ROLE_USERS
        self.local_users = [f"{u}@{rng.choice(LOCAL_DOMAINS)}" for u in users]
        self.active_users = self.local_users[:120]   # the ones who send mail
        rd_vals, rd_cum = weighted([((d, mx, st), w) for d, w, mx, st in REMOTE_DOMAINS])
        self.rd_vals, self.rd_cum = rd_vals, rd_cum
        self.remote_addrs = []
        for _ in range(3000):
            d, mx, st = rng.choices(rd_vals, cum_weights=rd_cum)[0]
            lp = rng.choice([rng.choice(INITIALS) + rng.choice(["", ".", "_"]) + rng.choice(SURNAMES),
                             rng.choice(SURNAMES) + str(rng.randint(1, 999)),
                             rng.choice(ROLE_USERS), "noreply", "news"])
            self.remote_addrs.append((f"{lp}@{d}", d, mx, st))
        self.ext_ips = ([f"192.0.2.{i}" for i in range(1, 255)]
                        + [f"198.51.100.{i}" for i in range(1, 255)]
                        + [f"203.0.113.{i}" for i in range(1, 255)]
                        + [f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xfff):x}"
                           for _ in range(60)])
        self.mta_vals, self.mta_cum = weighted([((h, p), w) for h, p, w in INBOUND_MTAS])
        self.dnsbl_vals, self.dnsbl_cum = weighted(DNSBL_LISTS)
        self.wm_vals, self.wm_cum = weighted(WEBMAIL_MESSAGES)
        # ----- counters for the manifest -----
        self.smtp_raw = {}       # (raw status, source) -> n
        self.smail = {}          # (type, origin) -> n
        self.hist = {s: [0] * (len(BUCKETS) + 1) for s in ("external", "authenticated", "webmail")}
        self.hist_sum = {s: 0 for s in self.hist}
        self.lines = {("smtp", "parsed"): 0, ("smtp", "malformed"): 0,
                      ("smail", "parsed"): 0, ("smail", "malformed"): 0,
                      ("webmail", "parsed"): 0}
        self.smail_fields = {8: 0, 9: 0}
        self.helo_quote_lines = 0
        self.nonutf8_smail = 0
        self.quote_in_field9 = 0
        self.ipv6_lines = 0
        self.files = {}
        self.msgid = 0x293D9
        self.seq = 0x3A10

    # ------------------------------------------------------------------ helpers
    def next_id(self, prefix):
        self.msgid += 1 + (self.rng.random() < 0.08)   # gaps: IDs allocated without a line
        return f"{prefix}{self.msgid:X}"

    def ts(self, t):
        s = int(t)
        if s != self._ts_sec:
            if s > self.span - 1:
                s = self.span - 1
            self._ts_sec = s
            self._ts_str = f"{self.date_s} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
        return self._ts_str

    def size(self, src):
        r = self.rng.random()
        if r < 0.002:                                # exact bucket boundaries
            return self.rng.choice(BUCKETS[:8])
        mu = 9.6 if src == "external" else 10.3
        v = int(self.rng.lognormvariate(mu, 1.7))
        return min(max(v, 180), 48 * 1024 * 1024)

    def spool_name(self, t):
        self.seq += 1
        ms = self.epoch0 + int(t * 1000) + self.rng.randint(0, 999)
        if self.legacy:
            return f"{ms}.{self.rng.choice(THREADS_LEGACY)}.{self.seq:x}.eml"
        return f"{ms}.{self.rng.choice(THREADS_127)}.1f4c.{self.seq:x}.mail"

    def remote_reply(self, style, rid):
        rng = self.rng
        if style == "gmail":
            return (f"2.0.0 OK  {self.epoch0 // 1000 + rng.randint(0, 86399)} "
                    f"{rid:x}a72fcca58-7ee1a6f3c71si{rng.randint(1000000, 9999999)}b3a.88 - gsmtp")
        if style == "postfix":
            return f"2.0.0 Ok: queued as 4Q{rid:X}z9sRt"
        if style == "exchange":
            return f"{rid:08X}-3C4A-4E5B-9F1A-{rng.randint(0, 0xffffffffffff):012X}@example.com"
        if style == "xmail":
            return f"S{rid % 0xFFFFF:X}"
        return f"2.0.0 OK {rid:x}"

    # ------------------------------------------------------------------ writers
    def _count_line(self):
        self.day_left -= 1
        if self.day_left < 0:
            raise DayDone
        if self.day_left in self.malformed_at:
            self.malformed_at.discard(self.day_left)
            self.day_left -= 1
            if self.day_left % 2:
                self.f_smtp.write(f'"{SERVER_FQDN}"\t"{SERVER_DOMAIN}"\t"198.51.100.7"\t"{self.date_s} 1\n')
                self.lines[("smtp", "malformed")] += 1
                self.file_lines[0] += 1
            else:
                self.f_smail.write(f'"{SERVER_DOMAIN}"\t"{self.spool_name(0)}"\t"S1A2\n')
                self.lines[("smail", "malformed")] += 1
                self.file_lines[1] += 1

    def smtp(self, t, peer, helo, dest, sender, rcpt, mid, status, user, size, cfqdn, src,
             srv=SERVER_FQDN, srvdom=SERVER_DOMAIN):
        self._count_line()
        if not self.rdns:                  # SMTP-RDNSCheck = 0 (the default): field 13 empty
            cfqdn = ""
        self.f_smtp.write(f'"{srv}"\t"{srvdom}"\t"{peer}"\t"{self.ts(t)}"\t"{helo}"\t"{dest}"\t'
                          f'"{sender}"\t"{rcpt}"\t"{mid}"\t"{status}"\t"{user}"\t"{size}"\t"{cfqdn}"\n')
        k = (status, src)
        self.smtp_raw[k] = self.smtp_raw.get(k, 0) + 1
        self.file_lines[0] += 1
        if helo in HELO_QUOTE:
            self.helo_quote_lines += 1
        if ":" in peer:
            self.ipv6_lines += 1

    def conn_reject(self, t, peer, status):
        """Connection-time rejection: fields 1, 2, 5-9 and 13 empty."""
        self.smtp(t, peer, "", "", "", "", "", status, "", 0, "", "external", "", "")

    def smail_line(self, t, smtpdom, spool, mid, sender, rcpt, typ, param, reply=""):
        self._count_line()
        if self.legacy:
            self.f_smail.write(f'"{smtpdom}"\t"{spool}"\t"{mid}"\t"{sender}"\t"{rcpt}"\t"{typ}"\t'
                               f'"{param}"\t"{self.ts(t)}"\n')
            self.smail_fields[8] += 1
        else:
            self.f_smail.write(f'"{smtpdom}"\t"{spool}"\t"{mid}"\t"{sender}"\t"{rcpt}"\t"{typ}"\t'
                               f'"{param}"\t"{self.ts(t)}"\t"{reply}"\n')
            self.smail_fields[9] += 1
        k = (typ, mid[0])
        self.smail[k] = self.smail.get(k, 0) + 1
        self.file_lines[1] += 1

    # ------------------------------------------------------------------ deliveries
    def deliver(self, t, smtpdom, mid, sender, rcpt, rdomain, mx, style, local):
        """SMAIL lines for one spool file (one recipient)."""
        rng = self.rng
        t += 0.3 + rng.random() * 2.5
        spool = self.spool_name(t)
        if local:
            r = rng.random()
            if r < 0.08:
                self.smail_line(t, smtpdom, spool, mid, sender, rcpt, "FILTER",
                                "/var/MailRoot/bin/spamcheck.sh")
            self.smail_line(t, smtpdom, spool, mid, sender, rcpt, "LOCAL", rcpt)
            r = rng.random()
            if r < 0.03:                             # mailproc redirect -> new spool, remote
                a, d, mx2, st2 = rng.choice(self.remote_addrs)
                self.smail_line(t, smtpdom, spool, mid, sender, rcpt, "REDIR", a)
                self.deliver(t, smtpdom, mid, sender, a, d, mx2, st2, False)
            elif r < 0.045:                          # lredirect -> new spool, local
                target = rng.choice(self.local_users)
                self.smail_line(t, smtpdom, spool, mid, sender, rcpt, "LREDIR", target)
                self.deliver(t, smtpdom, mid, rcpt, target, "", "", "", True)
            elif r < 0.075:
                self.smail_line(t, smtpdom, spool, mid, sender, rcpt, "EXTRN",
                                "/var/MailRoot/bin/vacation.sh")
            return
        self.rid += 1
        r = rng.random()
        if r < 0.84:
            typ, param = "SMTP", mx
            if rng.random() < 0.01:                  # A-record fallback / IP literal
                param = rdomain
        elif r < 0.92:
            typ, param = "FWD", "fwd.isp.example.net"
        else:
            typ, param = "RLYS", "relay.example.co.kr"
        reply = self.remote_reply(style, self.rid)
        r = rng.random()
        if r < 0.0008:                               # free text with a raw '"'
            reply = f'2.0.0 Ok "queued" as {self.rid:X}'
            self.quote_in_field9 += 1
        elif r < 0.0016 and self.args.non_utf8:      # EUC-KR bytes from a Korean MTA
            reply = "2.0.0 \xb8\xde\xc0\xcf \xc1\xa2\xbc\xf6 \xbf\xcf\xb7\xe1"  # latin-1 -> raw bytes
            self.nonutf8_smail += 1
        self.smail_line(t, smtpdom, spool, mid, sender, rcpt, typ, param,
                        reply if not self.legacy else "")

    # ------------------------------------------------------------------ scenarios
    def sc_inbound(self, t):
        """External MTA delivers to local users (the bulk of the traffic)."""
        rng = self.rng
        helo, ptr = rng.choices(self.mta_vals, cum_weights=self.mta_cum)[0]
        peer = rng.choice(self.ext_ips)
        sender = rng.choice(self.remote_addrs)[0] if rng.random() > 0.02 else ""
        mid = self.next_id("S")
        r = rng.random()
        n = 1 if r < 0.72 else 2 if r < 0.90 else 3 if r < 0.97 else rng.randint(4, 7)
        ok = []
        dest = ""
        for _ in range(n):
            rcpt = rng.choice(self.local_users)
            r = rng.random()
            if r < 0.945:
                dest = rcpt.split("@", 1)[1]
                self.smtp(t, peer, helo, dest, sender, rcpt, mid, "RCPT=OK", "", 0, ptr, "external")
                ok.append(rcpt)
            elif r < 0.975:
                self.smtp(t, peer, helo, dest, sender, rcpt.replace("@", "x@", 1), mid,
                          "RCPT=EAVAIL", "", 0, ptr, "external")
            elif r < 0.983:
                self.smtp(t, peer, helo, dest, sender, rcpt, mid, "RCPT=EFULL", "", 0, ptr, "external")
            elif r < 0.988:
                self.smtp(t, peer, helo, dest, sender, rcpt, mid, "RCPT=EDSBL", "", 0, ptr, "external")
            elif r < 0.992:
                self.smtp(t, peer, helo, dest, sender, rcpt, mid, "RCPT=EACCESS", "", 0, ptr, "external")
            else:                                     # post-RCPT filter
                d = rcpt.split("@", 1)[1]
                if self.legacy:
                    self.smtp(t, peer, helo, d, sender, rcpt, mid, "DATA=EFILTER", "", 0, ptr, "external")
                self.smtp(t, peer, helo, d, sender, rcpt, mid, "RCPT=EFILTER", "", 0, ptr, "external")
            t += rng.random()
        if not ok:
            return
        t += 0.5 + rng.random() * 2
        last = ok[-1]
        dest = last.split("@", 1)[1]
        r = rng.random()
        if r < 0.94:
            size = self.size("external")
            self.smtp(t, peer, helo, dest, sender, last, mid, self.recv_ok, "", size, ptr, "external")
            self.observe("external", size)
            for rc in ok:
                self.deliver(t, SERVER_DOMAIN, mid, sender, rc, "", "", "", True)
        elif r < 0.985:
            self.smtp(t, peer, helo, dest, sender, last, mid,
                      "DATA=EFILTER" if self.legacy else "POSTDATA=EFILTER", "", 0, ptr, "external")
        else:
            self.smtp(t, peer, helo, dest, sender, last, mid,
                      "DATA=EFILTER" if self.legacy else "PREDATA=EFILTER", "", 0, ptr, "external")

    def sc_submit(self, t, webmail):
        """A local user sends mail: authenticated SMTP client, or webmail on loopback."""
        rng = self.rng
        user = rng.choice(self.active_users)
        if webmail:
            r = rng.random()      # -6 dual-stack listeners see ::1 or the mapped ::ffff:127.0.0.1
            peer = "127.0.0.1" if r < 0.88 else "::1" if r < 0.98 else "::ffff:127.0.0.1"
            srv = srvdom = helo = "localhost"
            cf = "localhost" if rng.random() < 0.5 else ""
            src = "webmail"
        else:
            peer = rng.choice(self.ext_ips)
            srv, srvdom = SERVER_FQDN, SERVER_DOMAIN
            helo = rng.choice(CLIENT_HELOS)
            cf = "" if rng.random() < 0.6 else f"dyn-{peer.replace('.', '-').replace(':', '-')}.isp.example.net"
            src = "authenticated"
        mid = self.next_id("S")
        r = rng.random()
        n = 1 if r < 0.65 else 2 if r < 0.85 else 3 if r < 0.95 else rng.randint(4, 9)
        ok = []
        dest = ""
        for _ in range(n):
            if rng.random() < 0.7:
                a, d, mx, st = rng.choice(self.remote_addrs)
                local = False
            else:
                a = rng.choice(self.local_users)
                d, mx, st, local = a.split("@", 1)[1], "", "", True
            r = rng.random()
            if r < 0.985:
                self.smtp(t, peer, helo, d, user, a, mid, "RCPT=OK", user, 0, cf, src, srv, srvdom)
                ok.append((a, d, mx, st, local))
                dest = d
            elif r < 0.995:                          # typo in a local address
                self.smtp(t, peer, helo, dest, user,
                          rng.choice(self.local_users).replace("@", "x@", 1), mid, "RCPT=EAVAIL",
                          user, 0, cf, src, srv, srvdom)
            else:
                self.smtp(t, peer, helo, dest, user, "", mid, "RCPT=ESYNTAX", user, 0, cf, src,
                          srv, srvdom)
        if rng.random() < 0.004 and ok:                # too many recipients (-Sr)
            self.smtp(t, peer, helo, dest, user, "", mid, "RCPT=ENBR", user, 0, cf, src, srv, srvdom)
        if not ok:
            return
        t += 0.5 + rng.random() * 3
        last = ok[-1]
        if rng.random() < 0.995:
            size = self.size(src)
            self.smtp(t, peer, helo, last[1], user, last[0], mid, self.recv_ok, user, size, cf, src,
                      srv, srvdom)
            self.observe(src, size)
            for a, d, mx, st, local in ok:
                self.deliver(t, srvdom, mid, user, a, d, mx, st, local)
        else:
            self.smtp(t, peer, helo, last[1], user, last[0], mid,
                      "DATA=EFILTER" if self.legacy else "POSTDATA=EFILTER", user, 0, cf, src,
                      srv, srvdom)

    def sc_reject(self, t):
        """Spam, relay attempts, brute force, scanners: the rejection lines."""
        rng = self.rng
        peer = rng.choice(self.ext_ips)
        helo = rng.choice(BOT_HELOS)
        spam_dom = rng.choice(SPAM_SENDER_DOMAINS)
        sender = f"{rng.choice(ROLE_USERS)}{rng.randint(1, 999)}@{spam_dom}"
        cf = "" if rng.random() < 0.7 else f"host{rng.randint(2, 250)}.{spam_dom}"
        r = rng.random()
        if r < 0.45:
            k = rng.random()
            if k < 0.45:
                lst = rng.choices(self.dnsbl_vals, cum_weights=self.dnsbl_cum)[0]
                if self.legacy and rng.random() < 0.05:
                    self.conn_reject(t, peer, "SNDRIP=EIPMAP")   # bare form (malloc failure / <1.16)
                else:
                    self.conn_reject(t, peer, f"SNDRIP=EIPMAP ({lst})")
            elif k < 0.75:
                self.conn_reject(t, peer, "SNDRIP=EIPSPAM")
            elif k < 0.97:
                self.conn_reject(t, peer, "SNDRIP=EIPBAN")
            elif not self.legacy:
                self.conn_reject(t, peer, "CONN=EFILTER")        # davidel/xmail 2021 HEAD
            else:
                self.conn_reject(t, peer, "SNDRIP=EIPSPAM")
        elif r < 0.50:                                # MAIL-time DNSBL (code 0) or ERDNS/EIPSPAM
            k = rng.random()
            if k < 0.5:
                lst = rng.choices(self.dnsbl_vals, cum_weights=self.dnsbl_cum)[0]
                st = f"SNDRIP=EIPMAP ({lst})"
            elif k < 0.8 and self.rdns:
                st = "SNDRIP=ERDNS"
            else:
                st = "SNDRIP=EIPSPAM"
            self.smtp(t, peer, helo, "", sender, "", "", st, "", 0, cf, "external")
        elif r < 0.56:
            k = rng.random()
            if k < 0.3:
                self.smtp(t, peer, helo, "", "", "", "", "SNDR=EEMPTY", "", 0, cf, "external")
            elif k < 0.4:
                self.smtp(t, peer, helo, "", f"@{spam_dom}", "", "", "SNDR=ESYNTAX", "", 0, cf, "external")
            elif k < 0.7:
                self.smtp(t, peer, helo, "", sender, "", "", "SNDR=ENODNS", "", 0, cf, "external")
            elif k < 0.9:
                self.smtp(t, peer, helo, "", sender, "", "", "SNDR=ESPAM", "", 0, cf, "external")
            else:
                big = rng.choice([52428800, 73400320, 104857600, 60000000 + rng.randint(0, 9999999)])
                self.smtp(t, peer, helo, "", sender, "", "", "SIZE=EBIG", "", big, cf, "external")
        elif r < 0.70:                                # relay attempt(s)
            mid = self.next_id("S")
            for _ in range(rng.randint(1, 3)):
                a = rng.choice(self.remote_addrs)[0]
                self.smtp(t, peer, helo, "", sender, a, mid, "RCPT=ERELAY", "", 0, cf, "external")
                t += rng.random()
        elif r < 0.79:                                # dictionary attack -> EERRS
            mid = self.next_id("S")
            for i in range(3):
                rc = f"{rng.choice(GIVEN)}{rng.randint(1, 99)}@{SERVER_DOMAIN}"
                self.smtp(t, peer, helo, "", sender, rc, mid, "RCPT=EAVAIL", "", 0, cf, "external")
                t += 1 + rng.random()
            self.smtp(t, peer, helo, "", sender, "", mid, "SMTP=EERRS", "", 0, cf, "external")
        elif r < 0.82:
            mid = self.next_id("S")
            self.smtp(t, peer, helo, "", sender, "", mid, "RCPT=ESYNTAX", "", 0, cf, "external")
        elif r < 0.96:                                # AUTH brute force
            mechs = AUTH_MECHS_LEGACY if self.legacy else AUTH_MECHS_MODERN
            vals, cum = weighted(mechs)
            for _ in range(rng.randint(1, 4)):
                m = rng.choices(vals, cum_weights=cum)[0]
                self.smtp(t, peer, helo, "", "", "", "", f"AUTH=EFAIL:TYPE={m}", "", 0, cf, "external")
                t += 2 + rng.random()
        elif r < 0.98:
            if self.legacy:
                self.smtp(t, peer, helo, "", "", "", "", "VRFY=EACCESS", "", 0, cf, "external")
            else:
                self.smtp(t, peer, helo, "", "", "", "", "SMTP=ESSL", "", 0, cf, "external")
        else:
            self.smtp(t, peer, helo, "", "", "", "", rng.choice(["VRFY=EACCESS", "ETRN=EACCESS"]),
                      "", 0, cf, "external")

    def sc_other_origin(self, t):
        """L (local spool drop), P (POP3 sync) and X (bounce) messages: SMAIL only."""
        rng = self.rng
        r = rng.random()
        if r < 0.40:
            mid = self.next_id("L")
            sender = rng.choice(["cron@example.kr", "root@example.kr", "noreply@example.kr"])
            if rng.random() < 0.6:
                self.deliver(t, SERVER_DOMAIN, mid, sender, rng.choice(self.local_users), "", "", "", True)
            else:
                a, d, mx, st = rng.choice(self.remote_addrs)
                self.deliver(t, SERVER_DOMAIN, mid, sender, a, d, mx, st, False)
        elif r < 0.65:
            mid = self.next_id("P")
            a = rng.choice(self.active_users)
            self.deliver(t, a.split("@", 1)[1], mid, rng.choice(self.remote_addrs)[0], a, "", "", "", True)
        else:
            mid = self.next_id("X")
            sender = "" if rng.random() < 0.3 else f"postmaster@{SERVER_DOMAIN}"
            if rng.random() < 0.5:
                self.deliver(t, SERVER_DOMAIN, mid, sender, rng.choice(self.active_users), "", "", "", True)
            else:
                a, d, mx, st = rng.choice(self.remote_addrs)
                self.deliver(t, SERVER_DOMAIN, mid, sender, a, d, mx, st, False)

    def observe(self, src, size):
        h = self.hist[src]
        for i, b in enumerate(BUCKETS):
            if size <= b:
                h[i] += 1
                break
        else:
            h[len(BUCKETS)] += 1
        self.hist_sum[src] += size

    # ------------------------------------------------------------------ days
    def run_day(self, date, legacy, rdns, budget, xdir, n_malformed):
        self.legacy = legacy
        self.rdns = rdns
        self.recv_ok = "RCV=OK" if legacy else "RECV=OK"
        self.date_s = date.strftime("%Y-%m-%d")
        self._ts_sec = -1
        # KST (UTC+9) local midnight in epoch ms, for spool names
        self.epoch0 = (calendar.timegm(date.timetuple()) - 9 * 3600) * 1000
        self.rid = self.rng.randint(0, 1 << 30)
        self.file_lines = [0, 0]
        self.day_left = budget
        # positions (counted down from budget) where a malformed line is inserted
        self.malformed_at = set(self.rng.sample(range(10, max(budget - 10, 11)), n_malformed)) \
            if n_malformed and budget > 40 else set()
        # latin-1: every str char < 256 maps to exactly one byte (EUC-KR replies are written raw)
        self.f_smtp = HourFiles(self, xdir, "smtp", date, self.args.hourly)
        self.f_smail = HourFiles(self, xdir, "smail", date, self.args.hourly)
        end = self.span - 1.0
        try:
            rng = self.rng
            scen_vals, scen_cum = weighted([(0, 540), (1, 120), (2, 90), (3, 240), (4, 35)])
            t = 0.0
            avg_lines = 3.1
            try:
                while True:
                    remaining = max(self.day_left, 1)
                    gap = max(end + 0.5 - t, 0.0) / (remaining / avg_lines)
                    t += rng.expovariate(1.0) * gap if gap > 0 else 0
                    if t > end:
                        t = end
                    s = rng.choices(scen_vals, cum_weights=scen_cum)[0]
                    if s == 0:
                        self.sc_inbound(t)
                    elif s == 1:
                        self.sc_submit(t, False)
                    elif s == 2:
                        self.sc_submit(t, True)
                    elif s == 3:
                        self.sc_reject(t)
                    else:
                        self.sc_other_origin(t)
            except DayDone:
                pass
        finally:
            self.f_smtp.close()
            self.f_smail.close()
        for files in (self.f_smtp, self.f_smail):
            for p, n in files.lines.items():
                self.files[os.path.relpath(p, self.args.out)] = {
                    "log": files.kind, "format": "legacy" if legacy else "1.27",
                    "lines": n, "bytes": os.path.getsize(p)}

    def webmail(self, wdir, dates, n):
        if n <= 0:
            return
        rng = self.rng
        per_day = [n // len(dates) + (1 if i < n % len(dates) else 0) for i in range(len(dates))]
        for date, k in zip(dates, per_day):
            p = os.path.join(wdir, f"error-{date.strftime('%Y%m%d')}.txt")
            t = 0.0
            with open(p, "wb") as f:
                for i in range(k):
                    t += rng.expovariate(1.0) * (86000 / max(k, 1))
                    s = min(int(t), 86399)
                    msg = rng.choices(self.wm_vals, cum_weights=self.wm_cum)[0]
                    msg = msg.replace("{u}", rng.choice(self.active_users).split("@")[0])
                    line = (f"[{date.strftime('%Y-%m-%d')} {s // 3600:02d}:{s // 60 % 60:02d}:"
                            f"{s % 60:02d}] {msg}")
                    if (rng.random() < 0.35 and self.args.non_utf8
                            and any(ord(c) > 127 for c in line)):
                        b = line.encode("euc_kr")    # Nmail is Korean: some lines in EUC-KR
                    else:
                        b = line.encode("utf-8")
                    f.write(b + b"\n")
            self.lines[("webmail", "parsed")] += k
            self.files[os.path.relpath(p, self.args.out)] = {
                "log": "webmail", "format": "nmail", "lines": k, "bytes": os.path.getsize(p)}


def canonical(raw):
    """Exporter semantics: RCV=OK -> RECV=OK; 'SNDRIP=EIPMAP (x)' -> SNDRIP=EIPMAP;
    'AUTH=EFAIL:TYPE=x' -> AUTH=EFAIL."""
    if raw == "RCV=OK":
        return "RECV=OK"
    if raw.startswith("SNDRIP=EIPMAP"):
        return "SNDRIP=EIPMAP"
    if raw.startswith("AUTH=EFAIL"):
        return "AUTH=EFAIL"
    return raw


def script_sha256():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


ORIGIN = {"S": "smtp", "L": "local", "P": "pop3sync", "X": "bounce"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--lines", type=int, default=1_500_000, help="total lines over all files")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--days", type=int, default=7, help="days of logs (default 7)")
    ap.add_argument("--legacy-days", type=int, default=2,
                    help="how many of the days use the seed/legacy layout (default 2)")
    ap.add_argument("--start", default="2026-11-23", help="first 1.27-format day")
    ap.add_argument("--legacy-start", default="2007-04-16", help="first legacy-format day")
    ap.add_argument("--webmail-share", type=float, default=0.004,
                    help="fraction of --lines written as webmail error lines (0 disables)")
    ap.add_argument("--malformed-per-file", type=int, default=2,
                    help="truncated (malformed) lines per SMTP+SMAIL day (default 2)")
    ap.add_argument("--non-utf8", action="store_true",
                    help="also write invalid UTF-8: EUC-KR webmail lines and EUC-KR bytes in a few "
                         "SMAIL field-9 replies.  Off by default because mtail 3.0.0-rc50 stops "
                         "reading a file at the first such line (google/mtail#698), which would "
                         "make the mtail comparison meaningless")
    ap.add_argument("--hourly", action="store_true",
                    help="one smtp/smail file per hour (YYYYMMDDHH00), as XMail -Mr 1 writes them")
    ap.add_argument("--hours", type=int, default=24,
                    help="hours of traffic per day, from midnight (default 24)")
    args = ap.parse_args()
    if not 1 <= args.hours <= 24:
        ap.error("--hours must be 1 to 24")
    if args.legacy_days > args.days:
        ap.error("--legacy-days > --days")
    t0 = time.monotonic()
    xdir = os.path.join(args.out, "xmail")
    wdir = os.path.join(args.out, "webmail")
    for d in (xdir, wdir):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):                      # stale files would break the counts
            if f.startswith(("smtp-", "smail-", "error-")):
                os.unlink(os.path.join(d, f))
    g = Gen(args)
    n_web = int(round(args.lines * args.webmail_share))
    n_x = args.lines - n_web
    days = []
    ls = dt.date.fromisoformat(args.legacy_start)
    ms = dt.date.fromisoformat(args.start)
    for i in range(args.legacy_days):
        days.append((ls + dt.timedelta(days=i), True))
    for i in range(args.days - args.legacy_days):
        days.append((ms + dt.timedelta(days=i), False))
    # weekday/weekend variation, deterministic; quotas sum exactly to n_x
    weights = [0.75 if d.weekday() >= 5 else 1.0 + 0.05 * ((i * 7) % 5) for i, (d, _) in enumerate(days)]
    quotas = [int(n_x * w / sum(weights)) for w in weights]
    quotas[-1] += n_x - sum(quotas)
    for i, ((date, legacy), q) in enumerate(zip(days, quotas)):
        # SMTP-RDNSCheck was switched on for some days (field 13 filled, SNDRIP=ERDNS possible)
        g.run_day(date, legacy, i % 3 == 1, q, xdir, args.malformed_per_file)
    g.webmail(wdir, [d for d, leg in days if not leg][-3:] or [days[-1][0]], n_web)

    # ---------------- manifest
    events, raw, dnsbl, auth = {}, {}, {}, {}
    for (st, src), n in sorted(g.smtp_raw.items()):
        raw[st] = raw.get(st, 0) + n
        c = canonical(st)
        events.setdefault(c, {}).setdefault(src, 0)
        events[c][src] += n
        if st.startswith("SNDRIP=EIPMAP"):
            # the bare form (malloc failure, builds < 1.16) counts as list "unnamed"
            lst = st[len("SNDRIP=EIPMAP ("):-1] if st != "SNDRIP=EIPMAP" else "unnamed"
            dnsbl[lst] = dnsbl.get(lst, 0) + n
        elif st.startswith("AUTH=EFAIL:TYPE="):
            m = st[len("AUTH=EFAIL:TYPE="):]
            auth[m] = auth.get(m, 0) + n
    smtp_parsed = sum(g.smtp_raw.values())
    g.lines[("smtp", "parsed")] = smtp_parsed
    smail_parsed = sum(g.smail.values())
    g.lines[("smail", "parsed")] = smail_parsed
    deliveries = {}
    for (typ, pfx), n in sorted(g.smail.items()):
        deliveries.setdefault(typ, {})[ORIGIN.get(pfx, "other")] = n
    hist = {}
    for src, counts in g.hist.items():
        cum, b = 0, {}
        for i, bound in enumerate(BUCKETS):
            cum += counts[i]
            b[str(bound)] = cum
        cum += counts[-1]
        b["+Inf"] = cum
        hist[src] = {"count": cum, "sum": g.hist_sum[src], "buckets": b}
    log_lines, log_bytes = {}, {}
    for (log, res), n in g.lines.items():
        log_lines.setdefault(log, {})[res] = n
    for f in g.files.values():
        log_bytes[f["log"]] = log_bytes.get(f["log"], 0) + f["bytes"]
    total_lines = sum(f["lines"] for f in g.files.values())
    assert total_lines == args.lines == sum(g.lines.values()), (total_lines, args.lines, g.lines)
    h = hashlib.sha256()
    for name in sorted(g.files):
        with open(os.path.join(args.out, name), "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    manifest = {
        "generator": {"script_sha256": script_sha256(), "seed": args.seed, "lines": args.lines, "days": args.days,
                      "legacy_days": args.legacy_days, "start": args.start,
                      "legacy_start": args.legacy_start, "webmail_share": args.webmail_share,
                      "malformed_per_file": args.malformed_per_file,
                      "non_utf8": args.non_utf8,
                      "hourly": args.hourly, "hours": args.hours,
                      "content_sha256": h.hexdigest()},
        "dirs": {"xmail": "xmail", "webmail": "webmail"},
        "total_lines": total_lines,
        "total_bytes": sum(log_bytes.values()),
        "files": dict(sorted(g.files.items())),
        "log_lines": log_lines,          # xmail_exporter_log_lines_total{log,result}
        "log_bytes": log_bytes,          # xmail_exporter_log_read_bytes_total{log}
        "smtp_events": events,           # xmail_smtp_events_total{status,source}
        "smtp_raw_status": dict(sorted(raw.items())),
        "dnsbl_rejections": dnsbl,       # xmail_smtp_dnsbl_refusals_total{list}
        "auth_failures": auth,           # xmail_smtp_auth_failures_total{mechanism}
        "message_size_bytes": hist,      # xmail_smtp_message_size_bytes{source}
        "smail_deliveries": deliveries,  # xmail_smail_records_total{type,origin}
        "webmail_errors": g.lines[("webmail", "parsed")],  # sum of xmail_webmail_errors_total
        "edge_cases": {"smtp_lines_with_quote_in_helo": g.helo_quote_lines,
                       "smtp_lines_ipv6_peer": g.ipv6_lines,
                       "smail_lines_8_fields": g.smail_fields[8],
                       "smail_lines_9_fields": g.smail_fields[9],
                       "smail_field9_with_quote": g.quote_in_field9,
                       "smail_field9_non_utf8": g.nonutf8_smail},
    }
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    el = time.monotonic() - t0
    print(f"genlogs: {total_lines} lines, {manifest['total_bytes'] / 1e6:.1f} MB "
          f"(smtp {log_lines['smtp']}, smail {log_lines['smail']}, webmail {log_lines.get('webmail')}) "
          f"in {el:.1f}s -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
