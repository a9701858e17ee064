"""Views of the evaluation app: reviewers' pages, staff pages and exports, what a proposer sees."""
