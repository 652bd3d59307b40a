--
-- PostgreSQL database dump
--

\restrict 3oMPYVEti9EHubhDtRREukLyLuIrdbDwH01phiFoFzJM1Svgile1grb7oTvG2xf

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deliveries (
    id integer NOT NULL,
    issue_id integer NOT NULL,
    subscriber_id integer NOT NULL,
    state character varying(16) NOT NULL,
    attempts integer NOT NULL,
    next_attempt double precision NOT NULL,
    code integer NOT NULL,
    reply text NOT NULL,
    updated_at double precision NOT NULL
);


--
-- Name: deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deliveries_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deliveries_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deliveries_id_seq OWNED BY public.deliveries.id;


--
-- Name: feed_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.feed_state (
    source character varying(2048) NOT NULL,
    etag text NOT NULL,
    last_modified text NOT NULL,
    body text NOT NULL,
    failures integer NOT NULL,
    last_error text NOT NULL,
    updated_at timestamp with time zone
);


--
-- Name: first_seen; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.first_seen (
    key character varying(512) NOT NULL,
    seen_at timestamp with time zone NOT NULL
);


--
-- Name: issues; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.issues (
    id integer NOT NULL,
    period_key character varying(32) NOT NULL,
    period_start timestamp with time zone NOT NULL,
    period_end timestamp with time zone NOT NULL,
    draft text NOT NULL,
    state character varying(16) NOT NULL,
    subject text NOT NULL,
    html text NOT NULL,
    text text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone
);


--
-- Name: issues_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.issues_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: issues_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.issues_id_seq OWNED BY public.issues.id;


--
-- Name: runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runs (
    id integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    trigger character varying(16) NOT NULL,
    period_key character varying(32) NOT NULL,
    outcome character varying(16) NOT NULL,
    message text NOT NULL,
    ok boolean NOT NULL
);


--
-- Name: runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.runs_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: runs_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.runs_id_seq OWNED BY public.runs.id;


--
-- Name: seen_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.seen_items (
    key character varying(512) NOT NULL,
    issue_id integer NOT NULL
);


--
-- Name: subscribers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.subscribers (
    id integer NOT NULL,
    email character varying(320) NOT NULL,
    name text NOT NULL,
    fields text NOT NULL,
    status character varying(16) NOT NULL,
    changed_at timestamp with time zone NOT NULL,
    cause text NOT NULL
);


--
-- Name: subscribers_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.subscribers_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: subscribers_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.subscribers_id_seq OWNED BY public.subscribers.id;


--
-- Name: deliveries id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries ALTER COLUMN id SET DEFAULT nextval('public.deliveries_id_seq'::regclass);


--
-- Name: issues id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.issues ALTER COLUMN id SET DEFAULT nextval('public.issues_id_seq'::regclass);


--
-- Name: runs id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs ALTER COLUMN id SET DEFAULT nextval('public.runs_id_seq'::regclass);


--
-- Name: subscribers id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscribers ALTER COLUMN id SET DEFAULT nextval('public.subscribers_id_seq'::regclass);


--
-- Data for Name: deliveries; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deliveries (id, issue_id, subscriber_id, state, attempts, next_attempt, code, reply, updated_at) FROM stdin;
1	1	1	sent	1	0	250	delivered to /tmp/tmp.MlG9O64BtA/nato/outbox	1796042978.4510992
2	1	2	sent	1	0	250	delivered to /tmp/tmp.MlG9O64BtA/nato/outbox	1796042978.4540079
3	1	3	sent	1	0	250	delivered to /tmp/tmp.MlG9O64BtA/nato/outbox	1796042978.4559743
4	1	4	sent	1	0	250	delivered to /tmp/tmp.MlG9O64BtA/nato/outbox	1796042978.4578304
\.


--
-- Data for Name: feed_state; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.feed_state (source, etag, last_modified, body, failures, last_error, updated_at) FROM stdin;
feed.xml				0		2026-11-30 12:49:41.147241+00
videos.xml				0		2026-11-30 12:49:41.14853+00
features.xml				0		2026-11-30 12:49:41.14901+00
\.


--
-- Data for Name: first_seen; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.first_seen (key, seen_at) FROM stdin;
\.


--
-- Data for Name: issues; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.issues (id, period_key, period_start, period_end, draft, state, subject, html, text, created_at, sent_at) FROM stdin;
1	2023-W46	2023-11-10 22:59:59.999999+00	2023-11-17 22:59:59.999999+00	{"candidates": [{"key": "http://nato.int/cps/en/natohq/news_220236.htm", "placement": "auto", "item": {"title": "NATO Secretary General meets EU College of Commissioners", "link": "https://www.nato.int/cps/en/natohq/news_220236.htm", "summary": "Attending a meeting with the EU College of Commissioners in Brussels on 15 November 2023, Secretary General Jens Stoltenberg thanked European Commission President Ursula von der Leyen for being a driving force behind the NATO-EU partnership.", "published": "2023-11-16T16:30:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/eu-college-commissioners.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220229.htm", "placement": "auto", "item": {"title": "Secretary General welcomes Latvian President to NATO for talks on Ukraine support, deterrence and defence", "link": "https://www.nato.int/cps/en/natohq/news_220229.htm", "summary": "Secretary General Jens Stoltenberg welcomed Latvian President Edgars Rinkēvičs to NATO Headquarters on 16 November 2023 to discuss continued support for Ukraine and the ongoing implementation of decisions taken at the Vilnius Summit.", "published": "2023-11-16T15:15:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/latvian-president.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220211.htm", "placement": "auto", "item": {"title": "NATO Secretary General addresses protection of critical undersea infrastructure, support to Ukraine with EU Defence Ministers", "link": "https://www.nato.int/cps/en/natohq/news_220211.htm", "summary": "NATO Secretary General Jens Stoltenberg participated in a meeting of the Foreign Affairs Council of the European Union with EU Defence Ministers in Brussels on 14 November 2023 to discuss the protection of critical undersea infrastructure and the importance of continued support to Ukraine.", "published": "2023-11-16T13:50:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/undersea-infrastructure.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220208.htm", "placement": "auto", "item": {"title": "NATO strengthens situational awareness with next generation of command and control aircraft", "link": "https://www.nato.int/cps/en/natohq/news_220208.htm", "summary": "NATO has selected its next generation command and control aircraft as the Alliance’s existing Airborne Warning and Control System (AWACS) fleet nears retirement. Production of the six new Boeing’s E-7A Wedgetail aircraft is set to begin in the coming years, with the first aircraft expected to be ready for operational duty by 2031.", "published": "2023-11-16T12:20:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/e7a-wedgetail.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220205.htm", "placement": "auto", "item": {"title": "NATO Military Committee holds first meeting in new NATO-Ukraine format", "link": "https://www.nato.int/cps/en/natohq/news_220205.htm", "summary": "On 16 November 2023, the NATO Military Committee held the first edition of the NATO-Ukraine Council in Military Representatives format. While the NATO Military Representatives regularly engage with their Ukrainian counterparts, the particularity of this new format lies in that Ukraine sits among Allies.", "published": "2023-11-16T11:05:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/nato-ukraine-council-mc.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220196.htm", "placement": "links", "item": {"title": "NATO Secretary General meets with the Prime Minister of the Netherlands", "link": "https://www.nato.int/cps/en/natohq/news_220196.htm", "summary": "Secretary General Jens Stoltenberg met the Prime Minister of the Netherlands to discuss support for Ukraine and NATO’s deterrence and defence.", "published": "2023-11-16T08:00:00+00:00", "source": "NATO Features", "label": "", "image": "", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220187.htm", "placement": "auto", "item": {"title": "NATO Deputy Secretary General hails Bulgaria’s contributions to stability in the Black Sea", "link": "https://www.nato.int/cps/en/natohq/news_220187.htm", "summary": "NATO Deputy Secretary General Mircea Geoană travelled to Bulgaria on Friday 10 November 2023 for the annual exercise “Iron Strike” conducted by the NATO multinational battle group stationed in the country.", "published": "2023-11-15T15:30:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/bulgaria-iron-strike.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220160.htm", "placement": "links", "item": {"title": "NATO Secretary General receives the 2023 Henry A. Kissinger Prize", "link": "https://www.nato.int/cps/en/natohq/news_220160.htm", "summary": "Secretary General Jens Stoltenberg was presented with the 2023 Henry A. Kissinger Prize for his contribution to transatlantic relations.", "published": "2023-11-15T13:00:00+00:00", "source": "NATO Features", "label": "", "image": "", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220171.htm", "placement": "auto", "item": {"title": "Ukrainian paramedics complete first-aid training organised by NATO and Romania", "link": "https://www.nato.int/cps/en/natohq/news_220171.htm", "summary": "Around 200 Ukrainian medics have completed NATO training that will help Ukraine’s healthcare system to cope with the devastating impact of Russia’s war. The activity was organised jointly by Romania and NATO’s Euro-Atlantic Disaster Response Coordination Centre (EADRCC), and funded by six Allies.", "published": "2023-11-15T09:45:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/ukrainian-paramedics.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/video_219962.htm", "placement": "auto", "item": {"title": "The European Union: a unique and essential partner for NATO", "link": "https://www.nato.int/cps/en/natohq/video_219962.htm", "summary": "NATO and the European Union are strong partners since the early 2000s. The two organisations share the same values and challenges, and have complementary roles in supporting international peace and security.", "published": "2023-11-15T09:00:00+00:00", "source": "NATO Videos", "label": "Video", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/eu-partner-video.jpg", "is_video": true}}, {"key": "http://nato.int/cps/en/natohq/news_220154.htm", "placement": "auto", "item": {"title": "NATO Secretary General Jens Stoltenberg awarded with the CIOR Medal", "link": "https://www.nato.int/cps/en/natohq/news_220154.htm", "summary": "NATO Secretary General Jens Stoltenberg was awarded the CIOR 75th Anniversary Medal in a ceremony at the NATO Headquarters on 14 November 2023.", "published": "2023-11-14T16:20:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/cior-medal.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/topics_192648.htm", "placement": "links", "item": {"title": "NATO's response to Russia's invasion of Ukraine", "link": "https://www.nato.int/cps/en/natohq/topics_192648.htm", "summary": "An overview of how NATO and Allies are supporting Ukraine and strengthening deterrence and defence since Russia’s full-scale invasion.", "published": "2023-11-14T11:00:00+00:00", "source": "NATO Features", "label": "", "image": "", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/news_220123.htm", "placement": "auto", "item": {"title": "Romania’s Euro-Atlantic Resilience Centre hosts the first NATO Resilience Course for Civil Experts", "link": "https://www.nato.int/cps/en/natohq/news_220123.htm", "summary": "In collaboration with the Euro-Atlantic Resilience Centre in Bucharest, NATO held the first edition of the NATO Resilience Course for Civil Experts from 6 to 10 November 2023.", "published": "2023-11-13T10:00:00+00:00", "source": "NATO News", "label": "", "image": "file:///tmp/tmp.MlG9O64BtA/nato/images/resilience-course.jpg", "is_video": false}}, {"key": "http://nato.int/cps/en/natohq/115204.htm", "placement": "links", "item": {"title": "Top Five Russian Myths Debunked", "link": "https://www.nato.int/cps/en/natohq/115204.htm", "summary": "NATO sets the record straight on five of the most common Russian claims about the Alliance.", "published": "2023-11-13T09:00:00+00:00", "source": "NATO Features", "label": "", "image": "", "is_video": false}}], "choices": {}}	sent	What's new at NATO: 17 November 2023	<!DOCTYPE html>\n<html lang="en" dir="ltr" xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"><head><title>What's new at NATO: 17 November 2023</title><!--[if !mso]><!--><meta http-equiv="X-UA-Compatible" content="IE=edge"><!--<![endif]--><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="viewport" content="width=device-width, initial-scale=1">\n<style type="text/css">\n#outlook a { padding: 0; }\nbody { margin: 0; padding: 0; -webkit-text-size-adjust: 100%; -ms-text-size-adjust: 100%; }\ntable, td { border-collapse: collapse; mso-table-lspace: 0pt; mso-table-rspace: 0pt; }\nimg { border: 0; height: auto; line-height: 100%; outline: none; text-decoration: none; -ms-interpolation-mode: bicubic; }\np { display: block; margin: 13px 0; }\n</style>\n<!--[if mso]>\n<noscript>\n<xml>\n<o:OfficeDocumentSettings>\n  <o:AllowPNG/>\n  <o:PixelsPerInch>96</o:PixelsPerInch>\n</o:OfficeDocumentSettings>\n</xml>\n</noscript>\n<![endif]-->\n<!--[if lte mso 11]>\n<style type="text/css">\n.mj-outlook-group-fix { width:100% !important; }\n</style>\n<![endif]-->\n<style type="text/css">@media only screen and (min-width:480px) { .mj-column-per-100 { width:100% !important; max-width:100%; } .mj-column-px-184 { width:184px !important; max-width:184px; } .mj-column-px-368 { width:368px !important; max-width:368px; }  }</style><style media="screen and (min-width:480px)">.moz-text-html .mj-column-per-100 { width:100% !important; max-width:100%; } .moz-text-html .mj-column-px-184 { width:184px !important; max-width:184px; } .moz-text-html .mj-column-px-368 { width:368px !important; max-width:368px; } </style><style type="text/css">@media only screen and (max-width:479px) {\n                table.mj-full-width-mobile { width: 100% !important; }\n                td.mj-full-width-mobile { width: auto !important; }\n            }\n            </style><style type="text/css">h1, h2 { margin: 0 0 8px; font-weight: 700; color: #102a43; }\n  h1 { font-size: 26px; line-height: 32px; }\n  h2 { font-size: 19px; line-height: 25px; }\n  h1 a, h2 a { color: #102a43; text-decoration: none; }\n  p { margin: 0 0 8px; }\n  a { color: #004990; }\n  .kicker { margin: 0 0 6px; font-size: 13px; line-height: 18px; color: #52606d; }\n  .cta { display: inline-block; padding: 6px 0 14px; line-height: 24px; font-weight: 700; text-decoration: none; }\n  .list { margin: 0; padding: 0 0 0 20px; }\n  .list li { line-height: 44px; }\n  .list a { display: inline-block; vertical-align: top; padding: 10px 0; line-height: 24px; }\n  .quiet { display: inline-block; padding: 10px 4px; line-height: 24px; color: #52606d; }</style><style type="text/css">@media only screen and (max-width: 479px) {\n    .beside > table > tbody > tr > td { border-top: 0 !important; padding: 12px 0 16px !important; }\n    h1 { font-size: 22px !important; line-height: 28px !important; }\n  }</style><meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark"><style type="text/css">\n  @media (prefers-color-scheme: dark) {\n    .page, body { background-color: #0f1419 !important; }\n    .sheet, .sheet > table { background-color: #1b2229 !important; }\n    .footer, .footer > table { background-color: #0f1419 !important; }\n    .sheet div, .sheet p, .sheet li { color: #d9e2ec !important; }\n    .sheet a, .sheet .cta { color: #8cadcd !important; }\n    .sheet h1, .sheet h2, .sheet h1 a, .sheet h2 a { color: #f5f7fa !important; }\n    .sheet .button a { color: #ffffff !important; }\n    .sheet .kicker, .sheet .quiet, .footer div, .footer p, .footer a { color: #9fb3c8 !important; }\n    .thumb > table > tbody > tr > td, .beside > table > tbody > tr > td, .sheet td { border-color: #334e68 !important; }\n  }\n</style></head><body style="word-spacing:normal;background-color:#eef1f4;"><div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0px;max-width:0px;opacity:0;overflow:hidden;">NATO Secretary General meets EU College of Commissioners · The European Union: a unique and essential partner for NATO͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ ͏‌ </div><div aria-label="What's new at NATO: 17 November 2023" aria-roledescription="email" class="page" role="article" lang="en" dir="ltr" style="background-color:#eef1f4;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#004990" align="center" width="600" class="masthead-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="masthead" style="background:#004990;background-color:#004990;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#004990;background-color:#004990;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:20px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td style="vertical-align:top;width:552px;"><![endif]--><div class="mj-outlook-group-fix mj-column-per-100" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="vertical-align:top;padding:0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:22px;font-weight:700;line-height:28px;text-align:left;color:#ffffff;">What's new at NATO</div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:20px 24px 4px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td style="vertical-align:top;width:552px;"><![endif]--><div class="mj-outlook-group-fix mj-column-per-100" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="vertical-align:top;padding:0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" class="teasers" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:16px;line-height:24px;text-align:left;color:#1f2933;"><ul class="list" style="margin:0; padding:0 0 0 20px"><li style="line-height:44px"><a href="https://www.nato.int/cps/en/natohq/news_220236.htm" style="color:#004990; display:inline-block; vertical-align:top; padding:10px 0; line-height:24px" valign="top">NATO Secretary General meets EU College of Commissioners</a></li><li style="line-height:44px"><a href="https://www.nato.int/cps/en/natohq/video_219962.htm" style="color:#004990; display:inline-block; vertical-align:top; padding:10px 0; line-height:24px" valign="top">Video: The European Union: a unique and essential partner for NATO</a></li></ul></div></td></tr><tr><td align="left" class="dateline" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:14px;line-height:24px;text-align:left;color:#52606d;"><p class="dateline" style="margin:0 0 8px"><time>17 November 2023</time> · <a class="quiet" href="http://127.0.0.1:8025/archive/2023-W46" style="color:#52606d; display:inline-block; padding:10px 4px; line-height:24px">View in browser</a></p></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:8px 24px 28px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td style="vertical-align:top;width:552px;"><![endif]--><div class="mj-outlook-group-fix mj-column-per-100" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="vertical-align:top;padding:0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px 0px 16px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td style="width:552px;"><a href="https://www.nato.int/cps/en/natohq/news_220236.htm" target="_blank" style="color:#004990"><img alt="NATO Secretary General meets EU College of Commissioners" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/eu-college-commissioners.jpg" width="552" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:16px;line-height:24px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">16 November 2023</p>      <h1 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:26px; line-height:32px"><a href="https://www.nato.int/cps/en/natohq/news_220236.htm" style="color:#102a43; text-decoration:none">NATO Secretary General meets EU College of Commissioners</a></h1><p style="margin:0 0 8px">Attending a meeting with the EU College of Commissioners in Brussels on 15 November 2023, Secretary General Jens Stoltenberg thanked European Commission President Ursula von der Leyen for being a driving force behind the NATO-EU partnership.</p>    </div></td></tr><tr><td align="left" vertical-align="middle" class="button" style="font-size:0px;padding:8px 0px 0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" style="border-collapse:separate;line-height:100%;"><tbody><tr><td align="center" bgcolor="#004990" role="presentation" valign="middle" style="border:none;border-radius:4px;cursor:auto;mso-padding-alt:12px 24px;background:#004990;"><a href="https://www.nato.int/cps/en/natohq/news_220236.htm" target="_blank" style='color:#fff; display:inline-block; background:#004990; font-family:-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size:16px; font-weight:700; line-height:20px; margin:0; text-decoration:none; text-transform:none; padding:12px 24px; mso-padding-alt:0; border-radius:4px'>Read more</a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220229.htm" target="_blank" style="color:#004990"><img alt="Secretary General welcomes Latvian President to NATO for talks on Ukraine support, deterrence and defence" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/latvian-president.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">16 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220229.htm" style="color:#102a43; text-decoration:none">Secretary General welcomes Latvian President to NATO for talks on Ukraine support, deterrence and defence</a></h2><p style="margin:0 0 8px">Secretary General Jens Stoltenberg welcomed Latvian President Edgars Rinkēvičs to NATO Headquarters on 16 November 2023 to discuss continued support for Ukraine and the ongoing implementation of decisions taken at the Vilnius Summit.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220229.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220211.htm" target="_blank" style="color:#004990"><img alt="NATO Secretary General addresses protection of critical undersea infrastructure, support to Ukraine with EU Defence Ministers" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/undersea-infrastructure.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">16 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220211.htm" style="color:#102a43; text-decoration:none">NATO Secretary General addresses protection of critical undersea infrastructure, support to Ukraine with EU Defence Ministers</a></h2><p style="margin:0 0 8px">NATO Secretary General Jens Stoltenberg participated in a meeting of the Foreign Affairs Council of the European Union with EU Defence Ministers in Brussels on 14 November 2023 to discuss the protection of critical undersea infrastructure and the importance of continued support to Ukraine.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220211.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220208.htm" target="_blank" style="color:#004990"><img alt="NATO strengthens situational awareness with next generation of command and control aircraft" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/e7a-wedgetail.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">16 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220208.htm" style="color:#102a43; text-decoration:none">NATO strengthens situational awareness with next generation of command and control aircraft</a></h2><p style="margin:0 0 8px">NATO has selected its next generation command and control aircraft as the Alliance’s existing Airborne Warning and Control System (AWACS) fleet nears retirement. Production of the six new Boeing’s E-7A Wedgetail aircraft is set to begin in the coming years, with the first aircraft expected to be ready for operational duty by 2031.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220208.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220205.htm" target="_blank" style="color:#004990"><img alt="NATO Military Committee holds first meeting in new NATO-Ukraine format" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/nato-ukraine-council-mc.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">16 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220205.htm" style="color:#102a43; text-decoration:none">NATO Military Committee holds first meeting in new NATO-Ukraine format</a></h2><p style="margin:0 0 8px">On 16 November 2023, the NATO Military Committee held the first edition of the NATO-Ukraine Council in Military Representatives format. While the NATO Military Representatives regularly engage with their Ukrainian counterparts, the particularity of this new format lies in that Ukraine sits among Allies.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220205.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220187.htm" target="_blank" style="color:#004990"><img alt="NATO Deputy Secretary General hails Bulgaria’s contributions to stability in the Black Sea" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/bulgaria-iron-strike.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">15 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220187.htm" style="color:#102a43; text-decoration:none">NATO Deputy Secretary General hails Bulgaria’s contributions to stability in the Black Sea</a></h2><p style="margin:0 0 8px">NATO Deputy Secretary General Mircea Geoană travelled to Bulgaria on Friday 10 November 2023 for the annual exercise “Iron Strike” conducted by the NATO multinational battle group stationed in the country.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220187.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220171.htm" target="_blank" style="color:#004990"><img alt="Ukrainian paramedics complete first-aid training organised by NATO and Romania" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/ukrainian-paramedics.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">15 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220171.htm" style="color:#102a43; text-decoration:none">Ukrainian paramedics complete first-aid training organised by NATO and Romania</a></h2><p style="margin:0 0 8px">Around 200 Ukrainian medics have completed NATO training that will help Ukraine’s healthcare system to cope with the devastating impact of Russia’s war. The activity was organised jointly by Romania and NATO’s Euro-Atlantic Disaster Response Coordination Centre (EADRCC), and funded by six Allies.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220171.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220154.htm" target="_blank" style="color:#004990"><img alt="NATO Secretary General Jens Stoltenberg awarded with the CIOR Medal" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/cior-medal.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">14 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220154.htm" style="color:#102a43; text-decoration:none">NATO Secretary General Jens Stoltenberg awarded with the CIOR Medal</a></h2><p style="margin:0 0 8px">NATO Secretary General Jens Stoltenberg was awarded the CIOR 75th Anniversary Medal in a ceremony at the NATO Headquarters on 14 November 2023.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220154.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/news_220123.htm" target="_blank" style="color:#004990"><img alt="Romania’s Euro-Atlantic Resilience Centre hosts the first NATO Resilience Course for Civil Experts" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/resilience-course.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">13 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/news_220123.htm" style="color:#102a43; text-decoration:none">Romania’s Euro-Atlantic Resilience Centre hosts the first NATO Resilience Course for Civil Experts</a></h2><p style="margin:0 0 8px">In collaboration with the Euro-Atlantic Resilience Centre in Bucharest, NATO held the first edition of the NATO Resilience Course for Civil Experts from 6 to 10 November 2023.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/news_220123.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Read more</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td class="thumb-outlook" style="vertical-align:top;width:184px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-184 thumb" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="border-collapse:collapse;border-spacing:0px;"><tbody><tr><td class="mj-full-width-mobile" style="width:184px;"><a href="https://www.nato.int/cps/en/natohq/video_219962.htm" target="_blank" style="color:#004990"><img alt="The European Union: a unique and essential partner for NATO" height="auto" src="file:///tmp/tmp.MlG9O64BtA/nato/images/eu-partner-video.jpg" width="184" style="border:0;border-radius:4px;display:block;outline:none;text-decoration:none;height:auto;width:100%;font-size:13px;"></a></td></tr></tbody></table></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]><td class="beside-outlook" style="vertical-align:top;width:368px;"><![endif]--><div class="mj-outlook-group-fix mj-column-px-368 beside" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 16px 20px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:15px;line-height:22px;text-align:left;color:#1f2933;"><p class="kicker" style="margin:0 0 6px; font-size:13px; line-height:18px; color:#52606d">Video · 15 November 2023</p>      <h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px"><a href="https://www.nato.int/cps/en/natohq/video_219962.htm" style="color:#102a43; text-decoration:none">The European Union: a unique and essential partner for NATO</a></h2><p style="margin:0 0 8px">NATO and the European Union are strong partners since the early 2000s. The two organisations share the same values and challenges, and have complementary roles in supporting international peace and security.</p>      <a class="cta" href="https://www.nato.int/cps/en/natohq/video_219962.htm" style="color:#004990; display:inline-block; padding:6px 0 14px; line-height:24px; font-weight:700; text-decoration:none">Watch Video</a></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#ffffff" align="center" width="600" class="sheet-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="sheet" style="background:#ffffff;background-color:#ffffff;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#ffffff;background-color:#ffffff;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:0px 24px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td style="vertical-align:top;width:552px;"><![endif]--><div class="mj-outlook-group-fix mj-column-per-100" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="border-top:1px solid #d9e2ec;vertical-align:top;padding:20px 0px 12px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="left" class="further" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:16px;line-height:24px;text-align:left;color:#1f2933;"><h2 style="margin:0 0 8px; font-weight:700; color:#102a43; font-size:19px; line-height:25px">More news</h2><ul class="list" style="margin:0; padding:0 0 0 20px"><li style="line-height:44px"><a href="https://www.nato.int/cps/en/natohq/news_220196.htm" style="color:#004990; display:inline-block; vertical-align:top; padding:10px 0; line-height:24px" valign="top">NATO Secretary General meets with the Prime Minister of the Netherlands</a></li><li style="line-height:44px"><a href="https://www.nato.int/cps/en/natohq/news_220160.htm" style="color:#004990; display:inline-block; vertical-align:top; padding:10px 0; line-height:24px" valign="top">NATO Secretary General receives the 2023 Henry A. Kissinger Prize</a></li><li style="line-height:44px"><a href="https://www.nato.int/cps/en/natohq/topics_192648.htm" style="color:#004990; display:inline-block; vertical-align:top; padding:10px 0; line-height:24px" valign="top">NATO's response to Russia's invasion of Ukraine</a></li><li style="line-height:44px"><a href="https://www.nato.int/cps/en/natohq/115204.htm" style="color:#004990; display:inline-block; vertical-align:top; padding:10px 0; line-height:24px" valign="top">Top Five Russian Myths Debunked</a></li></ul></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation" bgcolor="#eef1f4" align="center" width="600" class="footer-outlook" style="width:600px;"><tr><td style="line-height:0px;font-size:0px;mso-line-height-rule:exactly;"><![endif]--><div class="footer" style="background:#eef1f4;background-color:#eef1f4;margin:0px auto;max-width:600px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" align="center" style="background:#eef1f4;background-color:#eef1f4;width:100%;"><tbody><tr><td style="direction:ltr;font-size:0px;padding:24px 24px 32px;text-align:center;"><!--[if mso | IE]><table border="0" cellpadding="0" cellspacing="0" role="presentation"><tr><![endif]--><!--[if mso | IE]><td style="vertical-align:top;width:552px;"><![endif]--><div class="mj-outlook-group-fix mj-column-per-100" style="font-size:0px;text-align:left;direction:ltr;display:inline-block;vertical-align:top;width:100%;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td style="vertical-align:top;padding:0px;"><table border="0" cellpadding="0" cellspacing="0" role="presentation" width="100%"><tbody><tr><td align="center" style="font-size:0px;padding:0px;word-break:break-word;"><div style="font-family:-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;font-size:13px;line-height:20px;text-align:center;color:#52606d;"><p style="margin:0 0 8px"><strong>NATO News</strong><br>Boulevard Leopold III, 1110 Brussels, Belgium</p><p style="margin:0 0 8px">You receive this email because you subscribed to What's new at NATO.</p><p style="margin:0 0 8px"><a class="quiet" href="@@unsubscribe_url@@" style="color:#52606d; display:inline-block; padding:10px 4px; line-height:24px">Unsubscribe</a> · <a class="quiet" href="http://127.0.0.1:8025/archive/2023-W46" style="color:#52606d; display:inline-block; padding:10px 4px; line-height:24px">View in browser</a></p></div></td></tr></tbody></table></td></tr></tbody></table></div><!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]--></td></tr></tbody></table></div><!--[if mso | IE]></td></tr></table><![endif]--></div></body></html>	What's new at NATO\n17 November 2023\n\n* NATO Secretary General meets EU College of Commissioners\n* Video: The European Union: a unique and essential partner for NATO\n\nView in browser: http://127.0.0.1:8025/archive/2023-W46\n\n==============================================================================\nNATO Secretary General meets EU College of Commissioners\n==============================================================================\n\nAttending a meeting with the EU College of Commissioners in Brussels on 15\nNovember 2023, Secretary General Jens Stoltenberg thanked European Commission\nPresident Ursula von der Leyen for being a driving force behind the NATO-EU\npartnership.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220236.htm\n\n------------------------------------------------------------------------------\n16 November 2023\nSecretary General welcomes Latvian President to NATO for talks on Ukraine\nsupport, deterrence and defence\n\nSecretary General Jens Stoltenberg welcomed Latvian President Edgars Rinkēvičs\nto NATO Headquarters on 16 November 2023 to discuss continued support for\nUkraine and the ongoing implementation of decisions taken at the Vilnius\nSummit.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220229.htm\n\n------------------------------------------------------------------------------\n16 November 2023\nNATO Secretary General addresses protection of critical undersea\ninfrastructure, support to Ukraine with EU Defence Ministers\n\nNATO Secretary General Jens Stoltenberg participated in a meeting of the\nForeign Affairs Council of the European Union with EU Defence Ministers in\nBrussels on 14 November 2023 to discuss the protection of critical undersea\ninfrastructure and the importance of continued support to Ukraine.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220211.htm\n\n------------------------------------------------------------------------------\n16 November 2023\nNATO strengthens situational awareness with next generation of command and\ncontrol aircraft\n\nNATO has selected its next generation command and control aircraft as the\nAlliance’s existing Airborne Warning and Control System (AWACS) fleet nears\nretirement. Production of the six new Boeing’s E-7A Wedgetail aircraft is set\nto begin in the coming years, with the first aircraft expected to be ready for\noperational duty by 2031.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220208.htm\n\n------------------------------------------------------------------------------\n16 November 2023\nNATO Military Committee holds first meeting in new NATO-Ukraine format\n\nOn 16 November 2023, the NATO Military Committee held the first edition of the\nNATO-Ukraine Council in Military Representatives format. While the NATO\nMilitary Representatives regularly engage with their Ukrainian counterparts,\nthe particularity of this new format lies in that Ukraine sits among Allies.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220205.htm\n\n------------------------------------------------------------------------------\n15 November 2023\nNATO Deputy Secretary General hails Bulgaria’s contributions to stability in\nthe Black Sea\n\nNATO Deputy Secretary General Mircea Geoană travelled to Bulgaria on Friday 10\nNovember 2023 for the annual exercise “Iron Strike” conducted by the NATO\nmultinational battle group stationed in the country.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220187.htm\n\n------------------------------------------------------------------------------\n15 November 2023\nUkrainian paramedics complete first-aid training organised by NATO and Romania\n\nAround 200 Ukrainian medics have completed NATO training that will help\nUkraine’s healthcare system to cope with the devastating impact of Russia’s\nwar. The activity was organised jointly by Romania and NATO’s Euro-Atlantic\nDisaster Response Coordination Centre (EADRCC), and funded by six Allies.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220171.htm\n\n------------------------------------------------------------------------------\n14 November 2023\nNATO Secretary General Jens Stoltenberg awarded with the CIOR Medal\n\nNATO Secretary General Jens Stoltenberg was awarded the CIOR 75th Anniversary\nMedal in a ceremony at the NATO Headquarters on 14 November 2023.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220154.htm\n\n------------------------------------------------------------------------------\n13 November 2023\nRomania’s Euro-Atlantic Resilience Centre hosts the first NATO Resilience\nCourse for Civil Experts\n\nIn collaboration with the Euro-Atlantic Resilience Centre in Bucharest, NATO\nheld the first edition of the NATO Resilience Course for Civil Experts from 6\nto 10 November 2023.\n\nRead more: https://www.nato.int/cps/en/natohq/news_220123.htm\n\n------------------------------------------------------------------------------\nVideo - 15 November 2023\nThe European Union: a unique and essential partner for NATO\n\nNATO and the European Union are strong partners since the early 2000s. The two\norganisations share the same values and challenges, and have complementary\nroles in supporting international peace and security.\n\nWatch Video: https://www.nato.int/cps/en/natohq/video_219962.htm\n\n------------------------------------------------------------------------------\nMore news\n\n* NATO Secretary General meets with the Prime Minister of the Netherlands\n  https://www.nato.int/cps/en/natohq/news_220196.htm\n* NATO Secretary General receives the 2023 Henry A. Kissinger Prize\n  https://www.nato.int/cps/en/natohq/news_220160.htm\n* NATO's response to Russia's invasion of Ukraine\n  https://www.nato.int/cps/en/natohq/topics_192648.htm\n* Top Five Russian Myths Debunked\n  https://www.nato.int/cps/en/natohq/115204.htm\n\n------------------------------------------------------------------------------\nNATO News, Boulevard Leopold III, 1110 Brussels, Belgium\n\nYou receive this email because you subscribed to What's new at NATO.\n\nUnsubscribe: @@unsubscribe_url@@\nView in browser: http://127.0.0.1:8025/archive/2023-W46\n	2026-11-30 12:49:38.311261+00	2026-11-30 12:49:38.46294+00
2	2023-W47	2023-11-17 22:59:59.999999+00	2023-11-24 22:59:59.999999+00	{"candidates": [{"key": "http://nato.int/next-week.htm", "placement": "auto", "item": {"title": "A story of the next week", "link": "https://www.nato.int/next-week.htm", "summary": "Something happened.", "published": "2023-11-20T10:00:00+00:00", "source": "NATO News", "label": "", "image": "", "is_video": false}}], "choices": {}}	draft				2026-11-30 12:49:41.154419+00	\N
\.


--
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.runs (id, started_at, finished_at, trigger, period_key, outcome, message, ok) FROM stdin;
\.


--
-- Data for Name: seen_items; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.seen_items (key, issue_id) FROM stdin;
http://nato.int/cps/en/natohq/video_219962.htm	1
http://nato.int/cps/en/natohq/115204.htm	1
http://nato.int/cps/en/natohq/news_220236.htm	1
http://nato.int/cps/en/natohq/news_220187.htm	1
http://nato.int/cps/en/natohq/news_220196.htm	1
http://nato.int/cps/en/natohq/news_220229.htm	1
http://nato.int/cps/en/natohq/news_220171.htm	1
http://nato.int/cps/en/natohq/topics_192648.htm	1
http://nato.int/cps/en/natohq/news_220154.htm	1
http://nato.int/cps/en/natohq/news_220208.htm	1
http://nato.int/cps/en/natohq/news_220123.htm	1
http://nato.int/cps/en/natohq/news_220205.htm	1
http://nato.int/cps/en/natohq/news_220160.htm	1
http://nato.int/cps/en/natohq/news_220211.htm	1
\.


--
-- Data for Name: subscribers; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.subscribers (id, email, name, fields, status, changed_at, cause) FROM stdin;
1	ada@example.org	Ada Lovelace	{"city": "London"}	active	2026-11-30 12:49:38.22654+00	import
3	linus@example.org	Linus Åkesson	{"city": "Lund"}	active	2026-11-30 12:49:38.228069+00	import
4	margaret@example.org	Margaret Hamilton	{"city": "Boston"}	active	2026-11-30 12:49:38.22844+00	import
2	grace@example.org	Grace Hopper	{"city": "Arlington"}	unsubscribed	2026-11-30 12:49:39.393202+00	removed by the operator
5	alan@example.org	Alan Turing	{}	active	2026-11-30 12:49:40.248965+00	added by the operator
\.


--
-- Name: deliveries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deliveries_id_seq', 4, true);


--
-- Name: issues_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.issues_id_seq', 2, true);


--
-- Name: runs_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.runs_id_seq', 1, false);


--
-- Name: subscribers_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.subscribers_id_seq', 5, true);


--
-- Name: deliveries deliveries_issue_id_subscriber_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_issue_id_subscriber_id_key UNIQUE (issue_id, subscriber_id);


--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);


--
-- Name: feed_state feed_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.feed_state
    ADD CONSTRAINT feed_state_pkey PRIMARY KEY (source);


--
-- Name: first_seen first_seen_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.first_seen
    ADD CONSTRAINT first_seen_pkey PRIMARY KEY (key);


--
-- Name: issues issues_period_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.issues
    ADD CONSTRAINT issues_period_key_key UNIQUE (period_key);


--
-- Name: issues issues_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.issues
    ADD CONSTRAINT issues_pkey PRIMARY KEY (id);


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);


--
-- Name: seen_items seen_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.seen_items
    ADD CONSTRAINT seen_items_pkey PRIMARY KEY (key);


--
-- Name: subscribers subscribers_email_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscribers
    ADD CONSTRAINT subscribers_email_key UNIQUE (email);


--
-- Name: subscribers subscribers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscribers
    ADD CONSTRAINT subscribers_pkey PRIMARY KEY (id);


--
-- Name: deliveries deliveries_issue_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES public.issues(id);


--
-- Name: deliveries deliveries_subscriber_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_subscriber_id_fkey FOREIGN KEY (subscriber_id) REFERENCES public.subscribers(id);


--
-- Name: seen_items seen_items_issue_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.seen_items
    ADD CONSTRAINT seen_items_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES public.issues(id);


--
-- PostgreSQL database dump complete
--

\unrestrict 3oMPYVEti9EHubhDtRREukLyLuIrdbDwH01phiFoFzJM1Svgile1grb7oTvG2xf

