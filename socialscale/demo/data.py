"""The demo's sample material: an imaginary small coffee roaster, Acme Roasters, and what is said about it.

Feeds are built from these templates at demo time, with dates relative to now, so the
backlog and latency reports look like a real Tuesday morning whenever the demo runs.
"""

from __future__ import annotations

PEOPLE = ["maria_k", "tom.h", "jun", "priya_s", "olafur", "beth", "dmitri", "sam_w", "lena", "kofi", "ana.r",
          "yusuf", "claire", "ravi", "noor", "eli"]
PRODUCTS = ["Ethiopia Yirgacheffe", "House Espresso", "Decaf Colombia", "the grinder", "the monthly subscription",
            "cold brew kit", "gift box", "Kenya AA", "the pour-over set"]

# (title template, text template) pairs per theme; {product} and {who} are filled in.
COMPLAINTS = [
    ("Order arrived broken", "My bag of {product} arrived torn open and half empty. Can I get a refund?"),
    ("Still waiting for my delivery", "Ordered {product} ten days ago, tracking hasn't moved. Where is my order?"),
    ("Subscription charged twice", "I was charged twice this month for {product}. Please refund the second charge."),
    ("Grinder doesn't work", "The burr grinder doesn’t   work after two weeks — it just hums. Warranty?"),
    ("Wrong beans in my box", "Got Decaf instead of {product}. Not happy, need an exchange."),
    ("Cancel my subscription?", "How do I cancel {product}? The account page gives an error."),
]
PRAISE = [
    ("Best beans in town", "Just tried {product} from Acme Roasters — fruity, bright, lovely. Thank you!"),
    ("Shout-out to Acme", "Been a customer for three years and {product} is still my morning ritual."),
    ("Great service", "Had an issue with {product} and Acme sorted it in an hour. Impressed."),
]
LEADS = [
    ("Looking for a coffee supplier for our office", "Our team of 40 is looking for a bean supplier. "
     "Anyone tried Acme Roasters? We'd need a quote for weekly delivery."),
    ("Alternative to BigBean wholesale?", "We run a small café and want an alternative to BigBean. "
     "Does Acme do wholesale pricing for {product}?"),
    ("Wedding favours", "Looking for small coffee gift boxes for 120 guests — can Acme do custom labels? Need a quote."),
    ("Restaurant partnership", "Our restaurant is looking for a local roaster, is Acme taking new wholesale accounts?"),
]
COMPETITOR = [
    ("BigBean vs Acme", "Compared BigBean's espresso to Acme's {product}; BigBean is cheaper but flat."),
    ("Switching from BeanBox", "BeanBox raised prices again. Considering Acme Roasters instead — thoughts?"),
]
CLIENT = [
    ("Re: our wholesale order for December", "Hi Acme team, can we move our December delivery of {product} "
     "to the 18th? Thanks, Café Lumen"),
    ("Invoice question", "Our invoice for {product} shows the old price, could you check? — Hotel Mirador"),
    ("Renewal of our office contract", "We'd like to renew the office contract and add {product}."),
]
MARKETING = [
    ("Latte art contest this weekend", "Who's joining the Acme latte art contest? Tag us with #acmelatte"),
    ("Loved the Instagram reel", "That roasting reel from Acme was mesmerising. More of those please."),
    ("Acme featured in City Food Guide", "Acme Roasters made the City Food Guide top-10 list for {product}."),
]
NEWS = [
    ("Coffee prices rise again", "Arabica futures hit a new high; small roasters like Acme feel the squeeze."),
    ("Local business awards shortlist", "The shortlist includes Acme Roasters and 11 other independents."),
    ("Specialty coffee market report", "Analysts expect specialty roasters to grow 8% this year."),
]
JOBS = [
    ("We're hiring: barista (part-time)", "Acme Roasters — we're hiring a part-time barista for the roastery café."),
    ("We're hiring a delivery driver", "We're hiring: delivery driver, 3 days a week. Apply with your CV."),
]
OWN_POSTS = [
    ("New arrival: {product}", "Our new lot of {product} has landed. Tasting notes: stone fruit, honey, cocoa."),
    ("How we roast", "A look behind the scenes at how we roast {product}, batch by batch."),
    ("Holiday opening hours", "Our shop hours over the holidays, and the last order date for gift boxes."),
]
# App Store reviews: (title, text, stars).
APP_REVIEWS = [
    ("Crashes when I pay", "The app crashes at checkout since the update. I want a refund for my {product} order.", 1),
    ("Love the reorder button", "Reordering {product} takes two taps. Great little app.", 5),
    ("Where is my order?", "Tracking in the app says delivered, nothing arrived. Not happy.", 2),
    ("Subscription pause please", "Let me pause {product} for a month without cancelling.", 3),
    ("Wholesale in the app?", "We run a café: is there wholesale pricing for {product}? Looking for a quote.", 4),
    ("Smooth and quick", "Fast delivery, easy app, lovely beans.", 5),
]
# A conversation on the community forum (docs/workflow.md): Maria complains, Bob (one of ours, handle
# feed:acme_bob) answers, Maria writes back without a keyword (a follow-up, still customer service, now
# Bob's), and Tom, drawn in by Bob's public answer, joins (a catalyzed reply). Both wait for an answer.
# (key, author, hours before now, replies to key, title, text)
THREAD = [
    ("t1", "maria_k", 30.0, None, "Grinder arrived broken", "The grinder I ordered arrived broken, the hopper is cracked. "
     "Refund or replacement please."),
    ("t2", "acme_bob", 29.0, "t1", "", "So sorry Maria! A replacement grinder goes out today, tracking by email."),
    ("t3", "maria_k", 3.0, "t2", "", "Still nothing a day later, and no email. Hello?"),
    ("t4", "tom.h", 2.5, "t2", "", "Same here, mine came with a cracked hopper last week."),
]

# Hostile-looking but harmless text, to show that web text is printed literally and safely.
ODD = [
    ("[bold]Free coffee[/bold] :smiley: \x1b[31mclick here\x1b[0m", "Spammy post with markup and escape codes."),
]

DEMO_RULES = """
rules:
  - name: complaints
    lane: customer_service
    any: ["refund*", "broken", "doesn't work", "where is my order", "charged twice", "cancel", "exchange",
          "not happy", "warranty"]
    none: ["we're hiring"]
    tags: [complaint]
  - name: buying-signals
    lane: sales_prospecting
    any: ["looking for", "alternative to", "quote", "wholesale"]
    none: ["we're hiring"]
    tags: [lead]
  - name: competitors
    lane: sales_prospecting
    any: ["BigBean", "BeanBox"]
    tags: [competitor]
  - name: clients
    lane: client_relations
    any: ["invoice", "renew*", "delivery of", "contract"]
    sources: [client-mail]
  - name: buzz
    lane: social_marketing
    any: ["#acmelatte", "instagram", "reel", "featured", "shout-out", "thank you"]
  - name: own-posts
    lane: publishing
    any: ["tasting notes", "behind the scenes", "opening hours"]
    sources: [acme-blog]
"""
