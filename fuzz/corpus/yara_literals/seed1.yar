rule a { strings: $a = "hello" $b = { 4D 5A ?? 00 01 02 03 [2-4] 41 ( 42 43 | 46 ) ~44 4? } $r = /https?:\/\/ev(il|ol)\.com{2,3}x+/i condition: 2 of them and #a > 1 and $b at 0 }
rule b { strings: $x = "abc" xor(1-3) wide ascii $y = "hello world!" base64 base64wide $z = "q" base64("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") condition: any of ($x*, $y) or (all of them and not $z) }
rule c { strings: $ = "one" $ = "two" condition: for any i in (1..#a) : ( @a[i] > 10 ) or 50% of them and a and (#a + 1) > 2 }
