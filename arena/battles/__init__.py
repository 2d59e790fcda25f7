"""Blind battles between two models, votes from people and judge models, and the leaderboard they make."""
