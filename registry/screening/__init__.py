"""Patient-identifier screening (policy 6.11): find NHS numbers, dates of birth, hospital
numbers, phone numbers, e-mail addresses, postcodes and patients' names in a draft post."""
