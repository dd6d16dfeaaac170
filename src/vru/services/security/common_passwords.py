"""Common passwords that are refused, whatever their length.

Provenance, honestly: this list was written by hand for ``vru`` from passwords that appear
at the top of widely published lists of the most common and most breached passwords (the
"top 100"/"top 1000" lists derived from the RockYou and other breach corpora, such as those
in SecLists' ``Passwords/Common-Credentials``, the NCSC's "100,000 most common passwords"
analysis of Have I Been Pwned data, and the yearly NordPass and SplashData lists). It is
not a copy of any of them and it is much shorter (about 900 entries, not 10,000 or
100,000): the machine that built ``vru`` could not download them.

``passwords.check_password`` does more than look a password up here: it also refuses the
password with trailing digits and symbols removed, with common letter-for-digit swaps undone
("p@ssw0rd"), repeated or sequential characters, the username and words about this service.
For a deployment, point ``VRU_COMMON_PASSWORDS_FILE`` at a larger list (one password per
line; for example SecLists' ``10-million-password-list-top-100000.txt`` or the NCSC's
``PwnedPasswordsTop100k.txt``) and it is used in addition to this one.
"""

from __future__ import annotations

_WORDS = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123
baseball abc123 football monkey letmein shadow master 696969 michael mustang 666666
qwertyuiop 123321 1234567890 pussy superman 654321 1qaz2wsx 7777777 fuckyou 121212
000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster
soccer harley batman andrew tigger sunshine iloveyou fuckme 2000 charlie robert thomas
hockey ranger daniel starwars klaster 112233 george asshole computer michelle jessica
pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa
ginger princess joshua cheese amanda summer love ashley 6969 nicole chelsea biteme
matthew access yankees 987654321 dallas austin thunder taylor matrix william corvette
hello martin heather secret fucker merlin diamond 1234qwer gfhjkm hammer silver 222222
88888888 anthony justin test bailey q1w2e3r4t5 patrick internet scooter orange 11111
golfer cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky
snoopy maverick phoenix camaro sexy peanut morgan welcome falcon cowboy ferrari samsung
andrea smokey steelers joseph mercedes dakota arsenal eagles melissa boomer booboo
spider nascar monster tigers yellow xxxxxx 123123123 gateway marina diablo bulldog
qwer1234 compaq purple hardcore banana junior hannah 123654 porsche lakers iceman money
cowboys 987654 london tennis 999999 ncc1701 coffee scooby 0000 miller boston q1w2e3r4
fuckoff brandon yamaha chester mother forever johnny edward 333333 oliver redsox player
nikita knight fender barney midnight please brandy chicago badboy iwantu slayer rangers
charles angel flower bigdaddy rabbit wizard bigdick jasper enter rachel chris steven
winner adidas victoria natasha 1q2w3e4r jasmine winter prince panties marine ghbdtn
fishing cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal
87654321 12344321 sexsex golden blowme bigtits 8675309 panther lauren angela bitch
spanky thx1138 angels madison winston shannon mike toyota blowjob jordan23 canada
sophie apples dick tiger razz 123abc pokemon qazxsw 55555 qwaszx muffin johnson murphy
cooper jonathan liverpoo david danielle 159357 jackie 1990 123456a 789456 turtle
horny abcd1234 scorpion qazwsxedc 101010 butter carlos password1 dennis slipknot
qwerty123 booger asdf 1991 black startrek 12341234 cameron newyork rainbow nathan john
1992 rocket viking redskins butthead asdfghjkl 1212 sierra peaches gemini doctor wilson
sandra helpme qwertyui victor florida dolphin pookie captain tucker blue liverpool
theman bandit dolphins maddog packers jaguar lovers nicholas united tiffany maxwell
zzzzzz nirvana jeremy suckit stupid porn monica elephant giants jackass hotdog rosebud
success debbie mountain 444444 xxxxxxxx warrior 1q2w3e4r5t q1w2e3 123456q albert
metallic lucky azerty 7777 shithead alex bond007 alexis 1111111 samson 5150 willie
scorpio bonnie gators benjamin voodoo driver dexter 2112 jason calvin freddy 212121
creative 12345a sydney rush2112 1989 asdfghjk red123 bubba 4815162342 passw0rd trouble
gunner happy fucking gordon legend jessie stella qwert eminem arthur apple nissan
bullshit bear america 1qazxsw2 nothing parker 4444 rebecca qweqwe garfield 01012011
beavis 69696969 jack asdasd december 2222 102030 252525 11223344 magic apollo skippy
315475 girls kitten golf copper braves shelby godzilla beaver fred tomcat august buddy
airborne 1993 1988 lifehack qqqqqq brooklyn animal platinum phantom online xavier
darkness blink182 power fish green 789456123 voyager police travis 12qwaszx heaven
snowball lover abcdef 00000 pakistan 007007 walter playboy blazer cricket sniper
hooters donkey willow loveme saturn therock redwings bigboy pumpkin trinity williams
tits nintendo digital destiny topgun runner marvin guinness chance bubbles testing fire
november minecraft asdf1234 lasvegas sergey broncos cartman private celtic birdie
little cassie babygirl donald beatles 1313 dickhead family 12121212 school louise
gabriel eclipse fluffy 147258369 lol123 explorer beer nelson flyers spencer scott
lovely gibson doggie cherry andrey snickers buffalo pantera metallica member carter
qwertyu peter alexande steelers1 spiderman mylove nathan1 welcome1 welcome123 password12
password123 password1234 pa55word passw0rd1 p@ssword p@ssw0rd letmein1 letmein123
changeme changeme123 default admin admin123 administrator root toor guest user test123
test1234 qwerty1 qwerty12 qwerty1234 abc12345 iloveyou1 iloveyou2 monkey1 dragon1
football1 baseball1 superman1 batman1 sunshine1 princess1 shadow1 master1 michael1
jessica1 charlie1 jordan1 ashley1 hunter2 trustno11 000000000 1234512345 123456789a
1234567a 12345678a a123456 a12345678 aa123456 abc123456 zaq12wsx zaq1zaq1 1qaz1qaz
!qaz2wsx qwe123 qwe123qwe 123qweasd qweasdzxc 1q2w3e 1q2w3e4r5t6y 123qwe123
asd123 zxc123 zxcvbnm1 zxcvbnm123 qwertyuiop123 q1w2e3r4t5y6 football123 liverpool1
chelsea1 arsenal1 manchester manutd tottenham everton celtic1 rangers1 london1
london123 england england1 scotland wales ireland britain soccer1 cricket1 rugby
summer1 summer123 summer2023 summer2024 winter1 winter123 spring autumn monday
sunday friday january february march april june july september october
password2023 password2024 password2025 welcome2023 welcome2024 welcome2025
spring2024 autumn2024 qwerty2024 london2024 letmein2024 secret123 secret1
mypassword mypass mysecret yourpassword thepassword newpassword oldpassword
passwort motdepasse contraseña senha wachtwoord salasana lozinka haslo
iloveu ilovehim iloveher loveyou lovelove myself forever1 friends friend bestfriend
family1 mummy mommy daddy mother1 father baby babygirl1 angel1 princesa sweety
sweetheart honey darling kisses flower1 butterfly rainbow1 unicorn cutie pretty
beautiful gorgeous football12 basketball tennis1 hockey1 golf1 boxing runner1
chocolate cookie1 cupcake candy banana1 apple1 orange1 strawberry cherry1 lemon
pizza burger coffee1 whisky vodka beer1 cheese1 bacon pepper1 ginger1
dragon123 monkey123 tiger123 lion123 eagle123 shark wolf wolves panda kitty kitten1
puppy doggy doggie1 horse bunny snoopy1 tigger1 pooh winnie garfield1 scooby1
mickey1 minnie disney batman123 superman123 spiderman1 ironman hulk thor starwars1
pokemon1 pikachu naruto goku mario zelda sonic halo fortnite roblox minecraft1
computer1 internet1 google yahoo facebook instagram twitter youtube netflix amazon
microsoft windows apple123 samsung1 iphone android nokia sony dell lenovo
abcdefg abcdefgh abcdefghi abcdefghij abcdefghijk abcdefghijkl abcd abcde abcdef1
aaaaaaaa aaaaaaaaaa aaaaaaaaaaaa 1111111111 111111111111 0000000000 000000000000
123123123123 1234567891 12345678910 123456789012 1234567890123 0123456789 9876543210
987654321 147258369 159357456 741852963 963852741 123654789 1478963 14789632
qwertyuiopasdfghjkl asdfghjkl1 zxcvbnmasdfghjkl 1q2w3e4r5t6y7u8i9o0p
iloveyou123 lovely1 loveme1 lover1 sexy1 sexy123 hottie hotstuff hot123 badboy1
letmein12 openup opensesame access1 access14 master123 mastermind control
security secure secure123 safety password! password1! password123! passw0rd!
trustme trustnoone whatever1 nothing1 anything something everything nobody
somebody anybody qwerty! hello1 hello123 hellohello hi123 hiya goodbye bye123
welcome! welcome12 welkom bienvenue benvenuto willkommen
violence violencereduction reduction vru london_vru londonvru cityhall mayor
police police123 metpolice scotlandyard nhs nhs123 council council123 borough
"""

COMMON_PASSWORDS: frozenset[str] = frozenset(w.lower() for w in _WORDS.split())

#: Words about this service and its users: a password made of one of them is refused.
CONTEXT_WORDS: frozenset[str] = frozenset({
    "vru", "violence", "violencereduction", "violencereductionunit", "reduction", "london",
    "londonvru", "register", "homicide", "review", "police", "council", "borough", "nhs",
    "mayor", "cityhall", "safeguarding",
})
