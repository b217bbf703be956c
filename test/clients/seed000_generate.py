import requests
import base64

API_KEY = "zk_live_abc123..."
BASE_URL = "https://api.zekron.codes"

headers = {
    "Authorization": f"Bearer {API_KEY}",
    "Content-Type": "application/json"
}

# Generate image
response = requests.post(
    f"{BASE_URL}/v1/generate",
    headers=headers,
    json={
        "prompt": "A cute robot in a garden",
        "size": "1024x1024"
    }
)

data = response.json()
if data["success"]:
    # Save image from base64
    image_data = base64.b64decode(data["data"]["image"]["b64_json"])
    with open("robot.png", "wb") as f:
        f.write(image_data)
    print(f"Image saved! Cost: ${data['data']['cost']}")
