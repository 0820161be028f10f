"""A short list of the most common passwords and password stems, shipped offline (R23).

There is no internet where Pinchpoint runs and no maintained breached-password list among its
packages, so :func:`kernel.auth.passwords.check_policy` combines documented rules with this
list: the best-known entries of the public most-common-password rankings (top-100 lists of
breach corpora), the stems they are usually padded from (``password`` in ``Password123!``),
and the words of this domain (roles, ``police``, ``pinchpoint``). A password is compared after
:func:`kernel.auth.passwords.stem` folds case, strips digits and symbols off both ends and
undoes common letter substitutions (``p@ssw0rd`` is ``password``). Add entries freely: one
word per whitespace, lower case.
"""

from __future__ import annotations

from typing import Final

_WORDS = """
0000 000000 0000000000 0987654321 1029384756 1111 11111 111111 11111111 1111111111 112233
121212 1212121212 123123 123123123 1231231234 123321 1234 12344321 12345 123456 1234567
12345678 123456789 1234567890 1234qwer 123654 123abc 123qwe 123qweasd 131313 147258369
159357 159753 1a2b3c4d 1q2w3e4r 1qaz2wsx 1qaz2wsx3edc 222222 232323 333333 456789 5201314
555555 654321 666666 666999 696969 741852963 7654321 777777 7777777 789456123 8675309
87654321 888888 88888888 963852741 987654 987654321 9876543210 999999 a1b2c3d4 aa123456
aaaaaa abc123 abcd1234 abcdef abcdefg abcdefgh abcdefghij access adam adidas admin admin123
administrator alexander alexandra amanda america amy andrea andrew andrew1 android angel
angel1 anthony anthony1 apple arsenal asdf asdf1234 asdfasdf asdfgh asdfghjkl ashley ashley1
austin australia autumn avengers azerty azertyuiop baby babyboy babygirl badboy bailey
banana barney baseball batman batman1 beautiful believe benjamin bigdaddy bigdog biteme
bobby booboo boomer boston brandon brandy brian britain bulldog buster butterfly camaro
camera cameras canada captain casper celtic change changeme charles charles1 charlie
charlie1 cheese cheetah chelsea chester chicago chicken chief chloe chris christmas claire
cocacola coffee commander compaq computer computer1 constable cookie copper corvette cowboy
cowboys crystal dakota dallas daniel daniel1 darling david david1 december default demo
demo123 deployment detective diablo diamond doggy dolphin dragon dragonball eagle eagles
easter edward edward1 elizabeth emergency emily emma england enter eric everton example
facebook facial falcon familia family february fender ferrari fishing flower flowers
football football123 forever forever1 freedom friday friend friends frodo gandalf gandalf1
gateway george george1 ginger gmail golden golfer goodpassword google grace guest guitar
hammer handsome hannah hannah1 hardcore harley harrypotter heather helen hello hello1
hello123 hockey hogwarts holiday holidays honey horse hotmail hunter iceman iloveu iloveyou
iloveyou1 iloveyou2 inspector instagram internet internet1 iphone ireland ironman jackson
jaguar james james1 january jasmine jason jasper jennifer jennifer1 jessica jessica1
jessica2 john john1 johnny jordan jordan23 joseph joseph1 joshua joshua1 junior justin
justin1 kevin killer kitten kitty knight lakers laura lauren letmein letmein1 letmeinnow
linux lion liverpool login london love lovely loveme lover lovers lucy maggie manchester
marina marine mark marlboro martin marvel master matrix matrix1 matthew matthew1 maverick
megan melissa mercedes merlin met999 metpolice michael michael1 michelle mickey microsoft
midnight miller minecraft monday money monkey monster morgan mother mustang mypass
mypassword naruto nascar natasha nathan ncc1701 newpassword nicole nikita nintendo nokia
nopassword november october officer oldpassword oliver olivia opensesame openup operator
orange outlook p@ssw0rd p@ssword pa55w0rd pa55word panther pass passw0rd password password!
password1 password12 password123 passwords patrick paul peanut pepper peter phoenix
pinchpoint player playstation please pokemon police policeman policewoman pony porsche
pretty prince princess princess1 private puppy purple q1w2e3r4 q1w2e3r4t5 qazwsx qazwsxedc
qweasd qweasdzxc qwer1234 qwerty qwerty1 qwerty12 qwerty123 qwertyu qwertyui qwertyuiop
rabbit rachel raiders rainbow rambo ranger rangers rebecca recognition redsox richard
richard1 robert robert1 rocky root ryan samantha sample samsung samsung1 samuel sarah scooby
scooter scotland scotlandyard secret secretpassword secure security sergeant shadow silver
slayer smokey snoopy soccer sony sophie sparky spider spiderman spring springfield startrek
starwars starwars1 steelers steven steven1 strongpassword summer sunday sunshine sunshine1
superintendent superman superman1 supersecret surveillance sweetheart sweetie taylor
technical tennis terminator test test123 test1234 tester testing thepassword thomas thomas1
thunder tiger tigers tigger toor topsecret trustme trustno1 tuesday twitter unicorn united
victoria wales watchlist welcome welcome1 welcome123 welcome2 whatever william william1
windows winner winter wizard wolf xbox xxxxxx yahoo yamaha yankees yellow yourpassword
youtube zaq12wsx zaq1zaq1 zxcv1234 zxcvbn zxcvbnm zxcvbnm123
"""

COMMON: Final[frozenset[str]] = frozenset(_WORDS.split())
