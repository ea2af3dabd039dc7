"""Guard families: one file each, with the prompt template, the parser and the score tokens."""
