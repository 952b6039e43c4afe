"""Words keep exact origins although the splitter takes runs of plain characters at once (issue 7)."""

import random

from doctor.inputs.shellwords import split_commands


def test_each_word_starts_where_its_origin_says():
    rnd = random.Random(2)
    checked = 0
    pieces = ["docker", "run", "-v", "/a:/b", " ", "  ", "\t", "\n", "\\\n", "\\ \n", "\\ ", "'q w'", '"d $X \\" e"',
              "$V", "${V:-x}", "$(date)", "`id`", ";", "&&", "|", "#c", "é", "a=b", "'open", '"open', "\r\n"]
    for _ in range(4000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 25)))
        lines = text.split("\n")
        for command in split_commands(text, "t.sh", 1, 1):
            checked += len(command.words)
            for word in command.words:
                line = lines[word.origin.line - 1]
                start = word.origin.column - 1
                assert (line[start:] + "\n" + "\n".join(lines[word.origin.line:])).startswith(word.raw), (text, word)
    assert checked > 10000
